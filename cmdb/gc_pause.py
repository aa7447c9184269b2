"""Pause Python's cyclic garbage collector around allocation-heavy, bounded work.

An ingest allocates hundreds of thousands of small, acyclic containers (CIs,
evidence, dicts of attributes) that live until their batch is applied and are
then freed by reference counting. The cyclic collector would walk them again
and again, and every few batches the whole heap (a scanner's materialised
scope included): about a third of the ingest's CPU time on the 100k estate.
The ingest pauses it for one ``ingest()`` call and for a run's aging, the SSH
scanner while it digests one host; what can pile up is bounded by that work.
Collection resumes when the outermost pause ends (pauses nest and may come
from several threads).
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
