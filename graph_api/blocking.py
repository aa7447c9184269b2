"""Run blocking store and engine calls off the event loop, through a small dedicated pool.

A few threads are enough for SQLite point reads and the in-memory impact engine;
the default pool (40 threads) only adds GIL contention and a connection (with its
page cache) per thread under load. ``store_threads = 0`` runs reads inline on the
event loop (fastest for an embedded store whose calls take well under a millisecond,
at the price of head-of-line blocking on a slow call; ``cmdb serve`` picks it for
SQLite). Computations over in-memory state alone always run inline (``run_in_memory``),
writes always in a worker thread (``run_write``).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

T = TypeVar("T")
_threads = 4  # 0: run inline on the event loop (set by create_app from ApiSettings.store_threads)


def configure(threads: int) -> None:
    global _threads
    _threads = threads

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    if _threads <= 0:
        return fn(*args)
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(_threads)
    return await anyio.to_thread.run_sync(fn, *args, limiter=limiter)


async def run_in_memory(fn: Callable[..., T], *args: Any) -> T:
    """A computation over in-memory state alone (the impact engine over the topology index):
    inline on the event loop, whatever the store. It holds the GIL throughout, so a thread
    would only add two hand-offs and contention with the loop (on a Neo4j store, whose reads
    take threads, impact p95 at 50 clients was a third above SQLite's: docs/benchmarks.md)."""
    return fn(*args)


async def run_write(fn: Callable[..., T], *args: Any) -> T:
    """Writes (ingest runs, manual edits) always run in a worker thread: they take seconds, never inline."""
    return await anyio.to_thread.run_sync(fn, *args)
