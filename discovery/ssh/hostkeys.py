"""Host key verification: a known_hosts file or a recorded fingerprint store.

A host whose key is not trusted is refused before any command runs. A *changed*
key (the host was known with another key) is refused with its own, explicit
reason. Recording a first-seen key (trust on first use) happens only when the
caller opts in.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import asyncssh


class HostKeyMode(str, Enum):
    KNOWN_HOSTS = "known_hosts"  # an OpenSSH known_hosts file
    FINGERPRINTS = "fingerprints"  # a JSON store {host: "SHA256:..."}
    INSECURE = "insecure"  # no verification (tests only); the fingerprint is still reported


class HostKeyRefused(Exception):
    """The server's host key is unknown or changed; ``changed`` tells which."""

    def __init__(self, host: str, fingerprint: str, changed: bool, expected: list[str]) -> None:
        self.host, self.fingerprint, self.changed, self.expected = host, fingerprint, changed, expected
        if changed:
            msg = (f"host key CHANGED for {host}: server offered {fingerprint}, recorded {', '.join(expected)};"
                   " refusing to connect (possible impersonation; update the store if the change is legitimate)")
        else:
            msg = f"host key for {host} is unknown ({fingerprint}); refusing (add it, or opt in to record on first use)"
        super().__init__(msg)


def fingerprint(key: asyncssh.SSHKey) -> str:
    return key.get_fingerprint("sha256")


class FingerprintStore:
    """A JSON file mapping a host's inventory name to its SHA256 host key fingerprints."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._data: dict[str, list[str]] = {}
        if self.path.exists():
            raw = json.loads(self.path.read_text() or "{}")
            self._data = {k: ([v] if isinstance(v, str) else list(v)) for k, v in raw.items()}

    def get(self, host: str) -> list[str]:
        return list(self._data.get(host, []))

    def record(self, host: str, fp: str) -> None:
        """Add ``fp`` for ``host`` and write the file atomically."""
        with self._lock:
            self._data.setdefault(host, [])
            if fp not in self._data[host]:
                self._data[host].append(fp)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".fp-")
            with os.fdopen(fd, "w") as fh:
                json.dump(self._data, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.path)


@dataclass
class HostKeyPolicy:
    """How host keys are checked; build one per scan and share it across hosts."""

    mode: HostKeyMode
    path: Path | None = None
    record_new: bool = False  # trust on first use: explicit opt-in only

    def __post_init__(self) -> None:
        self._store = FingerprintStore(self.path) if self.mode is HostKeyMode.FINGERPRINTS and self.path else None
        self._known: asyncssh.SSHKnownHosts | None = None
        if self.mode is HostKeyMode.KNOWN_HOSTS:
            if self.path is None:
                raise ValueError("known_hosts mode needs a file")
            self._known = asyncssh.read_known_hosts(str(self.path)) if self.path.exists() else None
        if self.mode is HostKeyMode.FINGERPRINTS and self._store is None:
            raise ValueError("fingerprints mode needs a file")

    def check(self, name: str, address: str, port: int, key: asyncssh.SSHKey) -> None:
        """Raise :class:`HostKeyRefused` unless ``key`` is trusted for this host (may record it)."""
        fp = fingerprint(key)
        if self.mode is HostKeyMode.INSECURE:
            return
        expected: list[str]
        if self._store is not None:
            expected = self._store.get(name)
        else:
            expected = []
            if self._known is not None:
                trusted = self._known.match(name, address, port if port != 22 else None)[0]
                expected = list(dict.fromkeys(fingerprint(k) for k in trusted))
        if fp in expected:
            return
        if not expected and self.record_new:
            self._record(name, address, port, key, fp)
            return
        raise HostKeyRefused(name, fp, changed=bool(expected), expected=expected)

    def _record(self, name: str, address: str, port: int, key: asyncssh.SSHKey, fp: str) -> None:
        if self._store is not None:
            self._store.record(name, fp)
            return
        assert self.path is not None
        host = address if port == 22 else f"[{address}]:{port}"
        line = f"{host} {key.export_public_key('openssh').decode().strip()}\n"
        with self.path.open("a") as fh:
            fh.write(line)
        self._known = asyncssh.read_known_hosts(str(self.path))
