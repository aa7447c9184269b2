"""The two things replaced when the real scanners run here: the network, and the clock.

The SSH and SNMP scanners run as they are (inventory and targets, concurrency,
per-host scopes, failures marking runs incomplete, duplicate-identity handling),
but the SSH session returns the host's rendered script output, the SNMP client
answers from the rendered varbinds, and the scanners' ``now_ms`` is the
harness's simulated clock (one scan round a day), so their observation
times agree with the ingest's. Each replacement is a module attribute the scanner
module looks up at call time, swapped for the duration of one scan only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncssh

from discovery.snmp.build import DeviceWalk
from discovery.snmp.client import Endpoint, SnmpTimeout, WalkResult
from discovery.snmp.values import Oid, Value


@contextmanager
def swapped(module: ModuleType, **attributes: Any) -> Iterator[None]:
    """Replace module attributes for the block; an attribute the module lacks is an error (the seam moved)."""
    saved = {}
    for name, value in attributes.items():
        if not hasattr(module, name):
            raise RuntimeError(f"{module.__name__} has no {name!r}: the harness's seam must follow the scanner")
        saved[name] = getattr(module, name)
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


_KEY_FILE: Path | None = None


def throwaway_key() -> str:
    """A private key file for the inventory's credentials (the scanner loads it before connecting; never used)."""
    global _KEY_FILE
    if _KEY_FILE is None:
        folder = Path(tempfile.mkdtemp(prefix="fidelity-key-"))
        _KEY_FILE = folder / "id_ed25519"
        asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(_KEY_FILE))
        _KEY_FILE.chmod(0o600)
    return str(_KEY_FILE)


class _Session:
    """One device's answers: GETs from its scalars, walks from its table varbinds."""

    def __init__(self, walk: DeviceWalk) -> None:
        self._walk = walk
        self.requests = 0
        self.varbinds = 0

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        self.requests += 1
        out = {oid: self._walk.scalars[oid] for oid in oids if oid in self._walk.scalars}
        self.varbinds += len(out)
        return out

    async def walk(self, columns: Sequence[Oid]) -> WalkResult:
        self.requests += 1
        prefixes = [tuple(c) for c in columns]
        values = {oid: value for oid, value in self._walk.values.items()
                  if any(oid[:len(p)] == p for p in prefixes)}
        self.varbinds += len(values)
        return WalkResult(values=values, requests=1)


class RecordedAgents:
    """Stands in for ``SnmpClient``: the agents at the rendered addresses answer, nothing else does."""

    def __init__(self, walks: Mapping[str, DeviceWalk]) -> None:
        self.walks = walks

    async def session(self, endpoint: Endpoint, credential: Any, deadline: float | None = None) -> _Session:
        walk = self.walks.get(endpoint.host)
        if walk is None:
            raise SnmpTimeout(f"no response from {endpoint}")
        return _Session(walk)

    def close(self) -> None:
        """Nothing to release."""
