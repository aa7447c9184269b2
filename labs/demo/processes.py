"""Stopping a child process the demo, a lab, a benchmark or a test started: by its PID."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def terminate(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it is still running after ``timeout`` seconds; waits either way."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
