"""Who runs a scan run: a token naming this process, and whether the process of a token is gone.

A run records its owner when it starts. A later writer that finds the run still
``running`` asks :func:`owner_state`: a process of this machine (same host name,
boot and PID namespace) that no longer exists, or whose PID now belongs to a
younger process, will never finish its run. A process elsewhere cannot be asked;
its run is judged by its heartbeat (``Ingestor`` closes it after a time limit).
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
from enum import Enum


class OwnerState(str, Enum):
    ALIVE = "alive"
    GONE = "gone"
    UNKNOWN = "unknown"  # another machine, or no owner recorded


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state first), or [] if unreadable."""
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return _read(f"/proc/{pid}/stat").rpartition(")")[2].split()


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or ''."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""


@functools.cache
def _machine() -> str:
    """This host, boot and PID namespace: PIDs are comparable only within it."""
    pid_ns = ""
    with contextlib.suppress(OSError):
        pid_ns = str(os.stat("/proc/self/ns/pid").st_ino)
    return f"{socket.gethostname()}/{_read('/proc/sys/kernel/random/boot_id')}/{pid_ns}"


def current_owner() -> str:
    """``<host>/<boot id>/<pid namespace>:<pid>:<start ticks>`` of this process."""
    pid = os.getpid()
    return f"{_machine()}:{pid}:{_start_ticks(pid)}"


def owner_state(owner: str | None) -> OwnerState:
    """Whether the process ``owner`` names still runs (only knowable on this machine)."""
    if not owner:
        return OwnerState.UNKNOWN
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _machine() or not parts[1].isdigit():
        return OwnerState.UNKNOWN
    pid, ticks = int(parts[1]), parts[2]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return OwnerState.GONE
    except PermissionError:
        pass  # exists, another user's
    fields = _stat(pid)
    if fields and fields[0] in ("Z", "X"):
        return OwnerState.GONE  # dead, not yet reaped by its parent
    if ticks and len(fields) > 19 and fields[19] != ticks:
        return OwnerState.GONE  # the PID was reused by a younger process
    return OwnerState.ALIVE
