"""Start and stop a local Neo4j (5.26 LTS Community) from the launcher in ``tools/neo4j``.

Used by the test suite, ``cmdb demo --store neo4j`` and the benchmarks: an embedded
DBMS with Bolt on 127.0.0.1 and a free port, its data in its own directory, an
explicit heap and page cache, stopped by its PID. The launcher is built by
``scripts/system-deps.sh`` (Maven: ``tools/neo4j/target/classes`` and ``target/lib``).
Production deployments run their own Neo4j and use ``neo4j://host:7687``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from cmdb.store.cypher.falkordb_server import free_port

LAUNCHER_CLASS = "cmdb.tools.neo4j.Launcher"
# The JVM flags Neo4j's own neo4j.conf passes on Java 17 (server.jvm.additional),
# less -XX:+AlwaysPreTouch, which would touch the whole heap at start for nothing here.
NEO4J_JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-Dlog4j2.disable.jmx=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
)
# Bolt's handshake: the magic preamble, then four version proposals (5.4 down to 5.0, 4.4).
_BOLT_HANDSHAKE = bytes.fromhex("6060b017" "00040405" "00000005" "00000404" "00000000")


class LauncherMissing(RuntimeError):
    """``tools/neo4j`` is not built: run ``scripts/system-deps.sh``."""


def launcher_dir() -> Path:
    """``$CMDB_NEO4J_LAUNCHER``, else ``tools/neo4j`` of the source tree this module is in."""
    configured = os.environ.get("CMDB_NEO4J_LAUNCHER")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "tools" / "neo4j"


def bolt_answers(port: int, host: str = "127.0.0.1", tls: bool = False) -> bool:
    """Whether a Bolt server on ``port`` completes the version handshake (over TLS: any certificate)."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as raw:
            sock: socket.socket = raw
            if tls:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE  # only whether it answers; the driver verifies
                sock = context.wrap_socket(raw, server_hostname=host)
            sock.sendall(_BOLT_HANDSHAKE)
            agreed = sock.recv(4)
            return len(agreed) == 4 and agreed != b"\x00\x00\x00\x00"
    except OSError:
        return False


class Neo4jServer:
    """A local Neo4j owned by this process.

    ``start()`` waits until Bolt completes a handshake; ``stop()`` closes the
    launcher's standard input and sends SIGTERM (a clean shutdown: checkpoint and
    store files closed), ``kill()`` sends SIGKILL (a crash: the next start recovers
    from the transaction log). The launcher also shuts down by itself when its
    standard input reaches end of file or this process exits.
    """

    def __init__(self, data_dir: Path, port: int | None = None, heap_mb: int = 512, pagecache_mb: int = 128,
                 tls_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.tls_dir = tls_dir  # Bolt over TLS only: private.key and public.crt (PEM) there
        self.port = port or free_port()
        self.heap_mb = heap_mb
        self.pagecache_mb = pagecache_mb
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in: float | None = None  # seconds from spawn to Bolt answering

    @property
    def url(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def command(self) -> list[str]:
        home = launcher_dir()
        classes, lib = home / "target" / "classes", home / "target" / "lib"
        if not (classes / "cmdb" / "tools" / "neo4j" / "Launcher.class").is_file() or not lib.is_dir():
            raise LauncherMissing(f"the Neo4j launcher is not built in {home}: run scripts/system-deps.sh")
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java:
            raise LauncherMissing("java (17) is not on PATH: run scripts/system-deps.sh")
        return [
            java, f"-Xms{min(self.heap_mb, 256)}m", f"-Xmx{self.heap_mb}m", *NEO4J_JVM_FLAGS,
            "-cp", f"{classes}{os.pathsep}{lib}{os.sep}*", LAUNCHER_CLASS,
            "--dir", str(self.data_dir), "--port", str(self.port),
            "--pagecache-mb", str(self.pagecache_mb), "--parent-pid", str(os.getpid()),
            *(("--tls-dir", str(self.tls_dir)) if self.tls_dir is not None else ()),
        ]

    def start(self, timeout: float = 180.0) -> Neo4jServer:
        command = self.command()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "launcher.log", "ab")  # noqa: SIM115 - lives as long as the process
        began = time.monotonic()
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"Neo4j exited with {code}; see {self.data_dir / 'launcher.log'} "
                                   f"and {self.data_dir / 'logs' / 'debug.log'}")
            if bolt_answers(self.port, tls=self.tls_dir is not None):
                self.started_in = time.monotonic() - began
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"Neo4j did not answer Bolt on port {self.port} within {timeout} s")

    def rss_bytes(self) -> int:
        """Resident memory of the server process now (0 if not running)."""
        if self.process is None or self.process.poll() is not None:
            return 0
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def kill(self) -> None:
        """SIGKILL the server: nothing flushed on the way out, like a crash."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self._close_stdin()
        self.process = None

    def stop(self, timeout: float = 60.0) -> None:
        """A clean shutdown (stdin closed, SIGTERM); SIGKILL if it has not ended within ``timeout``."""
        if self.process is None:
            return
        self._close_stdin()
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.process = None

    def _close_stdin(self) -> None:
        stdin: IO[bytes] | None = self.process.stdin if self.process is not None else None
        if stdin is not None:
            with contextlib.suppress(OSError):  # a broken pipe: the launcher is gone already
                stdin.close()

    def __enter__(self) -> Neo4jServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
