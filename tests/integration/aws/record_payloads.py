"""Record the raw payloads of a one-region estate for the transform unit tests.

Usage: ``python -m tests.integration.aws.record_payloads http://127.0.0.1:PORT`` against
a running moto server (it is reset). Writes ``tests/data/aws/{region,global,expected}.json``:
the response pages the scanner collects, and the CIs and edges the estate builder
says they must yield (independently of the transforms).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from discovery.aws.client import AwsCaller, ClientSettings, Credentials, collect_global, collect_region, make_session
from tests.integration.aws.aws_estate import account_session, build_account, reset_moto

ACCOUNT, REGION = "111111111111", "us-east-1"
OUT = Path(__file__).resolve().parents[2] / "data" / "aws"


def main(endpoint: str) -> None:
    reset_moto(endpoint)
    expected = build_account(endpoint, ACCOUNT, regions=(REGION,))
    creds = account_session(endpoint, ACCOUNT).get_credentials()
    keys = Credentials(creds.access_key, creds.secret_key, creds.token)
    settings = ClientSettings(endpoint_url=endpoint, max_attempts=2)
    for name, region, collect in (("region", REGION, collect_region), ("global", "us-east-1", collect_global)):
        caller = AwsCaller(make_session(keys), region, settings)
        collect(caller)
        assert not caller.errors, caller.errors
        (OUT / f"{name}.json").write_text(json.dumps(caller.payload, indent=1, sort_keys=True, default=str) + "\n")
    (OUT / "expected.json").write_text(json.dumps(
        {"account": ACCOUNT, "region": REGION, "cis": sorted(expected.cis), "rels": sorted(expected.rels)},
        indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
