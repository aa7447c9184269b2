"""Opening TCP connections from inside a network namespace (a lab's scanner namespace).

A dedicated thread joins the namespace once; the sockets it creates belong to
that namespace and are then used from the event loop as usual.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

CLONE_NEWNET = 0x40000000


def join_netns(path: str) -> None:
    """Move the calling thread into the network namespace at ``path`` (needs CAP_SYS_ADMIN)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


class NamespaceConnector:
    """A scanner ``connector``: opens TCP connections from inside ``/run/netns/<name>``."""

    def __init__(self, netns: str) -> None:
        self.path = netns if netns.startswith("/") else f"/run/netns/{netns}"
        self._executor: ThreadPoolExecutor | None = None

    def open_socket(self) -> socket.socket:
        """A new, blocking TCP socket that belongs to the namespace."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="netns", initializer=join_netns,
                                                initargs=(self.path,))
        return self._executor.submit(socket.socket, socket.AF_INET, socket.SOCK_STREAM).result()

    async def __call__(self, target: Any) -> socket.socket:
        loop = asyncio.get_running_loop()
        sock = await loop.run_in_executor(None, self.open_socket)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (target.address, target.port))
        except BaseException:
            sock.close()
            raise
        return sock

    def close(self) -> None:
        """Stop the namespace thread (a later connection starts a new one)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
