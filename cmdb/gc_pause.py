"""Pause Python's cyclic garbage collector around allocation-heavy, bounded work.

An ingest batch allocates hundreds of thousands of small containers (CIs,
evidence, dicts of attributes) that live until the batch is applied and are
then freed by reference counting. The cyclic collector would walk them again
and again while the batch is built: about a third of the ingest's CPU time on
the 100k estate. Pausing it for the length of one batch bounds what can pile up
to that batch; collection resumes when the outermost pause ends (pauses nest
and may come from several threads).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
