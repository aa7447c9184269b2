"""Instants given as text: ISO 8601 with an explicit offset, and nothing else."""

from __future__ import annotations

import re
from datetime import datetime

#: A calendar date, a time of day and an offset (``Z`` or ``+hh:mm``); seconds and fractions optional.
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$")
EXAMPLE = "2027-02-08T22:00+01:00 or 2027-02-08T21:00Z"


def parse_instant(text: str) -> int:
    """Epoch milliseconds of ``text``; ValueError with a clear message for anything but ISO 8601 with an offset.

    ``20270208`` (a basic-format date, or epoch milliseconds in 1970), a date alone
    or a time without an offset are refused rather than guessed.
    """
    value = text.strip()
    if not _ISO.match(value):
        raise ValueError(f"{text!r} is not an ISO 8601 date and time with an offset (e.g. {EXAMPLE})")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid time: {exc}") from exc
    return int(moment.timestamp() * 1000)
