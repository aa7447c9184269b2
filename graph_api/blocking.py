"""Run blocking store and engine calls off the event loop, through a small dedicated pool.

A few threads are enough for SQLite point reads and the in-memory impact engine;
the default pool (40 threads) only adds GIL contention and a connection (with its
page cache) per thread under load.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

T = TypeVar("T")
STORE_THREADS = 4

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(STORE_THREADS)
    return await anyio.to_thread.run_sync(fn, *args, limiter=limiter)
