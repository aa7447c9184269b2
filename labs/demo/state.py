"""The demo's state file: every process and namespace it started, so ``--stop`` can clean up.

The file is rewritten after each start, so a crash half-way still leaves a
complete list. Stopping checks that a PID still runs the recorded command
before signalling it (a PID may have been reused since).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = "demo-state.json"


@dataclass(slots=True)
class ProcessRecord:
    """A process the demo started: ``marker`` must appear in its command line to be signalled."""

    name: str
    pid: int
    marker: str


@dataclass(slots=True)
class DemoState:
    """What is running for the demo under ``data_dir``."""

    data_dir: str
    processes: list[ProcessRecord] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # directories outside the data dir to remove
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.data_dir) / STATE_FILE

    def save(self) -> None:
        Path(self.data_dir).mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(self.path)

    def add_process(self, name: str, pid: int, marker: str) -> None:
        self.processes.append(ProcessRecord(name, pid, marker))
        self.save()

    def add_path(self, path: str) -> None:
        self.paths.append(path)
        self.save()

    def add_namespaces(self, names: list[str]) -> None:
        self.namespaces.extend(n for n in names if n not in self.namespaces)
        self.save()

    @classmethod
    def load(cls, data_dir: str | Path) -> DemoState | None:
        path = Path(data_dir) / STATE_FILE
        if not path.is_file():
            return None
        raw = json.loads(path.read_text())
        return cls(data_dir=raw["data_dir"], processes=[ProcessRecord(**p) for p in raw.get("processes", [])],
                   namespaces=list(raw.get("namespaces", [])), paths=list(raw.get("paths", [])),
                   notes=dict(raw.get("notes", {})))


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def running(record: ProcessRecord) -> bool:
    """The recorded process still runs (same PID, same command)."""
    line = _cmdline(record.pid)
    return line is not None and record.marker in line and _alive(record.pid)


def stop_everything(state: DemoState, grace_s: float = 5.0) -> list[str]:
    """Stop every recorded process, delete every namespace, remove the state file.

    All processes get SIGTERM at once, then SIGKILL whatever still runs after
    ``grace_s`` (``unshare --fork`` ignores SIGTERM; SIGKILL takes its host's
    whole PID namespace down with it).
    """
    done: list[str] = []
    live = [p for p in reversed(state.processes) if running(p)]
    done += [f"{p.name} (pid {p.pid}) was not running" for p in state.processes if p not in live]
    for record in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(running(p) for p in live):
        for record in live:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(record.pid, os.WNOHANG)  # reap it if it is our own child
        time.sleep(0.05)
    for record in live:
        if running(record):
            with contextlib.suppress(ProcessLookupError):
                os.kill(record.pid, signal.SIGKILL)
            done.append(f"{record.name} (pid {record.pid}) killed")
        else:
            done.append(f"{record.name} (pid {record.pid}) stopped")
    for ns in reversed(state.namespaces):
        result = subprocess.run(["ip", "netns", "del", ns], capture_output=True, text=True, timeout=30, check=False)
        done.append(f"namespace {ns} deleted" if result.returncode == 0 else f"namespace {ns}: already gone")
    for path in state.paths:
        shutil.rmtree(path, ignore_errors=True)
        done.append(f"removed {path}")
    with contextlib.suppress(FileNotFoundError):
        state.path.unlink()
    return done
