"""The minimum IAM policy the scanner needs, derived from the declared calls."""

from __future__ import annotations

import json
from typing import Any

from discovery.aws.calls import API_CALLS


def minimum_policy() -> dict[str, Any]:
    """A read-only policy allowing exactly the actions of ``API_CALLS`` (sts:AssumeRole kept apart)."""
    read = sorted({c.action for c in API_CALLS if c.action != "sts:AssumeRole"})
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "CmdbDiscoveryRead", "Effect": "Allow", "Action": read, "Resource": "*"},
            # Only the scanning identity needs this, to enter each account's read-only role.
            {"Sid": "CmdbDiscoveryAssumeReader", "Effect": "Allow", "Action": ["sts:AssumeRole"],
             "Resource": "arn:aws:iam::*:role/*"},
        ],
    }


def minimum_policy_json() -> str:
    """The policy as the JSON block in ``docs/aws.md``."""
    return json.dumps(minimum_policy(), indent=2)
