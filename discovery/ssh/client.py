"""The thin network I/O: connect to one host, verify its key, run the script once.

Everything else (parsing, identity, dependencies) is pure and lives elsewhere.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncssh

from discovery.ssh.hostkeys import HostKeyMode, HostKeyPolicy, HostKeyRefused, fingerprint
from discovery.ssh.inventory import Target

# Opens a connected socket to a target (tests open it inside a network namespace).
Connector = Callable[[Target], Awaitable[socket.socket]]

# AES-GCM first: OpenSSL does it in one call per packet, where asyncssh's ChaCha20-Poly1305
# (its default first choice) builds cipher contexts per packet: ~30% less client CPU per host.
# The rest of asyncssh's defaults follow, so any server still finds a common cipher.
ENCRYPTION_ALGS: tuple[str, ...] = (
    "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
    "aes256-ctr", "aes192-ctr", "aes128-ctr",
)


class CollectError(Exception):
    """A host could not be collected; the message is what the scan reports for it."""


@dataclass(frozen=True, slots=True)
class Collected:
    raw: str
    host_key: str | None
    exit_status: int | None
    elapsed_s: float


class _Client(asyncssh.SSHClient):
    def __init__(self, target: Target, policy: HostKeyPolicy) -> None:
        self._target, self._policy = target, policy
        self.refused: HostKeyRefused | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        try:
            self._policy.check(self._target.name, self._target.address, self._target.port, key)
        except HostKeyRefused as exc:
            self.refused = exc
            return False
        return True


async def collect(
    target: Target,
    keys: list[asyncssh.SSHKey],
    policy: HostKeyPolicy,
    script: str,
    connect_timeout_s: float = 10.0,
    connector: Connector | None = None,
) -> Collected:
    """Run ``script`` on ``target`` as one ``sh -s``; raise CollectError with a per-host reason."""
    started = time.perf_counter()
    client = _Client(target, policy)
    sock: socket.socket | None = None
    try:
        if connector is not None:
            sock = await asyncio.wait_for(connector(target), connect_timeout_s)
        conn = await asyncssh.connect(
            target.address,
            target.port,
            sock=sock,
            username=target.credentials.user,
            client_keys=keys,
            agent_path=None,
            known_hosts=None if policy.mode is HostKeyMode.INSECURE else ([], [], []),
            client_factory=lambda: client,
            connect_timeout=connect_timeout_s,
            preferred_auth="publickey",
            encryption_algs=list(ENCRYPTION_ALGS),
            config=None,
        )
    except BaseException as exc:
        if sock is not None:
            sock.close()  # asyncssh may not have taken it over yet; closing twice is harmless
        raise _connect_error(exc, target, client, connect_timeout_s) from None
    async with conn:
        server_key = conn.get_server_host_key()
        try:
            result = await conn.run("sh -s", input=script, check=False)
        except (OSError, asyncssh.Error) as exc:
            raise CollectError(f"collection failed: {exc.__class__.__name__}: {exc}") from None
    stdout = result.stdout if isinstance(result.stdout, str) else (result.stdout or b"").decode(errors="replace")
    return Collected(
        raw=stdout,
        host_key=fingerprint(server_key) if server_key is not None else None,
        exit_status=result.exit_status,
        elapsed_s=time.perf_counter() - started,
    )


def _connect_error(exc: BaseException, target: Target, client: _Client, timeout_s: float) -> BaseException:
    """The per-host reason for a failed connection (other exceptions, e.g. cancellation, pass through)."""
    if isinstance(exc, HostKeyRefused):
        return CollectError(str(exc))
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return CollectError(str(client.refused) if client.refused else f"host key not verifiable: {exc}")
    if isinstance(exc, asyncssh.PermissionDenied):
        return CollectError(f"authentication failed for user {target.credentials.user!r} (key refused)")
    if isinstance(exc, TimeoutError):
        return CollectError(f"connect timed out after {timeout_s:g}s")
    if isinstance(exc, (OSError, asyncssh.Error)):
        return CollectError(f"unreachable: {exc.__class__.__name__}: {exc}")
    return exc
