"""Which addresses of a scope answered before: silence from one of them is not absence.

An address found by a CIDR sweep or by crawling LLDP/CDP neighbours that does not
answer is normally just silent (most addresses of a sweep hold nothing; a phone or
an access point speaks LLDP but no SNMP). But a device that *did* answer in an
earlier run and now keeps silent is a device we cannot see, not a device that is
gone: its run must be incomplete, naming it, so none of its interfaces and links
age. This module remembers, per scope, every address that answered and when, in
one small JSON file the scanner rewrites after each scan (atomically).

Each address also keeps the part of the scope its device is (``<scope>/<part>``, named
by the device's system name) and the device's strong identifiers (serial, chassis id):
a known address that keeps silent then holds back only its own part, and one whose
device now answers on another address (same serial or chassis id) has moved.

A device silent for longer than ``forget_after_days`` is forgotten: from then on
its silence is silence again, and what it held ages as any absent thing does.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Answered:
    name: str | None
    last_answered: int  # epoch ms
    part: str | None = None  # the device's part of the scope (files written before parts: None)
    strong: tuple[str, ...] = ()  # "serial_number=...", "chassis_id=...": what recognises it elsewhere


class ReachedTargets:
    """The addresses of one scope that answered, loaded from and saved to ``path`` (None: memory only)."""

    def __init__(self, path: Path | None, forget_after_days: float = 7.0) -> None:
        self.path = path
        self.forget_after_ms = int(forget_after_days * _DAY_MS)
        self.entries: dict[str, Answered] = {}
        if path is not None and path.exists():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                self.entries = {str(a): Answered(e.get("name"), int(e["last_answered"]), e.get("part"),
                                                 tuple(str(v) for v in e.get("strong", ())))
                                for a, e in raw.items()}
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"SNMP reached-targets file {path} is unreadable ({exc}): delete it to start afresh") from None

    @classmethod
    def for_scope(cls, directory: Path, scope: str, forget_after_days: float = 7.0) -> ReachedTargets:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", scope)
        return cls(directory / f"snmp-reached-{safe}.json", forget_after_days)

    def known(self, address: str, now: int) -> Answered | None:
        """The earlier answer of ``address`` if it is recent enough to count."""
        entry = self.entries.get(address)
        if entry is None or now - entry.last_answered > self.forget_after_ms:
            return None
        return entry

    def record(self, address: str, name: str | None, now: int, part: str | None = None,
               strong: tuple[str, ...] = ()) -> None:
        self.entries[address] = Answered(name, now, part, strong)

    def forget(self, address: str) -> None:
        """``address`` is no longer its device's (it answers elsewhere): its silence is silence again."""
        self.entries.pop(address, None)

    def save(self, now: int) -> None:
        """Drop what is forgotten and write the file (a temporary file renamed over it)."""
        self.entries = {a: e for a, e in self.entries.items() if now - e.last_answered <= self.forget_after_ms}
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({a: {"name": e.name, "last_answered": e.last_answered, "part": e.part,
                               "strong": list(e.strong)}
                           for a, e in sorted(self.entries.items())}, indent=1)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(body)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
