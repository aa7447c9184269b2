"""The thin SNMP client: the only module of the scanner that does network I/O.

pysnmp 7 (asyncio), one shared ``SnmpEngine`` per client, numeric OIDs with
``lookupMib=False``. Table walks are our own GETBULK loop over several columns at
once, bounded four ways: a per-request timeout (pysnmp), a per-device deadline, a
row cap, and a check that every column only moves forward inside its subtree (so a
device returning non-increasing OIDs cannot loop us forever).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_MD5,
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC128_SHA224,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC256_SHA384,
    USM_AUTH_HMAC384_SHA512,
    USM_AUTH_NONE,
    USM_PRIV_CBC56_DES,
    USM_PRIV_CBC168_3DES,
    USM_PRIV_CFB128_AES,
    USM_PRIV_CFB192_AES,
    USM_PRIV_CFB256_AES,
    USM_PRIV_NONE,
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
)
from pysnmp.smi import builder, view

from discovery.snmp.credentials import Credential, V2cCredential
from discovery.snmp.values import Oid, Value

_AUTH = {
    "md5": USM_AUTH_HMAC96_MD5, "sha": USM_AUTH_HMAC96_SHA, "sha224": USM_AUTH_HMAC128_SHA224,
    "sha256": USM_AUTH_HMAC192_SHA256, "sha384": USM_AUTH_HMAC256_SHA384, "sha512": USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    "des": USM_PRIV_CBC56_DES, "3des": USM_PRIV_CBC168_3DES, "aes": USM_PRIV_CFB128_AES,
    "aes192": USM_PRIV_CFB192_AES, "aes256": USM_PRIV_CFB256_AES,
}


class SnmpError(Exception):
    """A request that failed as a whole; ``str()`` is a clear, secret-free reason."""


class SnmpTimeout(SnmpError):
    """No answer in time: dead host, filtered port, wrong community or unknown context."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int = 161

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class WalkResult:
    """What a walk returned, and why it stopped early (``problem``) if it did."""

    values: dict[Oid, Value] = field(default_factory=dict)
    problem: str | None = None
    capped: str | None = None  # a column reached the row cap: that table is partial, the walk went on
    requests: int = 0


@dataclass(frozen=True)
class ClientOptions:
    timeout: float = 1.0  # seconds per request
    retries: int = 1
    max_repetitions: int = 50
    max_varbinds: int = 60  # per response: agents cap it (snmpsim at 64), beyond that they truncate
    max_rows: int = 20000  # per column


def auth_data(credential: Credential) -> tuple[CommunityData | UsmUserData, ContextData]:
    """pysnmp authentication objects; secrets are resolved here and kept nowhere else."""
    if isinstance(credential, V2cCredential):
        return CommunityData(credential.community.resolve(), mpModel=1), ContextData()
    auth_proto = _AUTH[credential.auth_protocol] if credential.auth_protocol else USM_AUTH_NONE
    priv_proto = _PRIV[credential.priv_protocol] if credential.priv_protocol else USM_PRIV_NONE
    usm = UsmUserData(
        credential.user,
        authKey=credential.auth_key.resolve() if credential.auth_key else None,
        privKey=credential.priv_key.resolve() if credential.priv_key else None,
        authProtocol=auth_proto,
        privProtocol=priv_proto,
    )
    return usm, ContextData(contextName=credential.context.encode())


def to_value(value: Any) -> Value | None:
    """pyasn1 value -> int / bytes / OID tuple; None for NULL, noSuch* and endOfMibView."""
    if isinstance(value, univ.Null):
        return None
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(value)
    return None


def _is_end(value: Any) -> bool:
    return isinstance(value, univ.Null) or value is None


def _describe(error_indication: Any) -> str:
    text = str(error_indication)
    lowered = text.lower()
    if "timeout" in lowered or "no snmp response" in lowered:
        return "no response before timeout (unreachable, or wrong community/context)"
    if "unknown usm user" in lowered or "unknownusername" in lowered:
        return "SNMPv3 user unknown to the agent"
    if "digest" in lowered or "wrongdigest" in lowered:
        return "SNMPv3 authentication failed (wrong auth key or protocol)"
    if "decrypt" in lowered:
        return "SNMPv3 decryption failed (wrong privacy key or protocol)"
    if "unsupported security level" in lowered or "unsupportedseclevel" in lowered:
        return "SNMPv3 security level not supported by the agent for this user"
    return text


class _NoMibCompiler:
    """Stands in for pysmi: numeric OIDs need no MIB, and building pysmi's parser costs
    seconds of CPU per engine (and its default sources are on the internet)."""

    def compile(self, *names: str, **_: Any) -> dict[str, str]:
        return dict.fromkeys(names, "missing")


def _without_mib_compiler(engine: SnmpEngine) -> None:
    mib_builder = builder.MibBuilder()
    first_source = mib_builder.get_mib_sources()[0].full_path()
    mib_builder.set_mib_compiler(_NoMibCompiler(), first_source)
    engine.cache["mibViewController"] = view.MibViewController(mib_builder)


class SnmpClient:
    """One shared engine; ``session()`` binds it to one device and one credential."""

    def __init__(self, options: ClientOptions | None = None, engine: SnmpEngine | None = None) -> None:
        self.options = options or ClientOptions()
        self.engine = engine or SnmpEngine()
        _without_mib_compiler(self.engine)

    async def session(self, endpoint: Endpoint, credential: Credential, deadline: float | None = None) -> Session:
        """Open a session (resolves the address; no packet is sent yet)."""
        target = await UdpTransportTarget.create(
            (endpoint.host, endpoint.port), timeout=self.options.timeout, retries=self.options.retries
        )
        auth, context = auth_data(credential)
        return Session(self, endpoint, target, auth, context, deadline)

    def close(self) -> None:
        """Release the engine's sockets."""
        self.engine.close_dispatcher()


class Session:
    """GET and bounded table walks against one device."""

    def __init__(
        self, client: SnmpClient, endpoint: Endpoint, target: UdpTransportTarget,
        auth: CommunityData | UsmUserData, context: ContextData, deadline: float | None,
    ) -> None:
        self.client = client
        self.endpoint = endpoint
        self._target = target
        self._auth = auth
        self._context = context
        self.deadline = deadline
        self.requests = 0
        self.varbinds = 0

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    async def _bounded(self, coro: Any) -> Any:
        remaining = self._remaining()
        if remaining is None:
            return await coro
        if remaining <= 0:
            coro.close()
            raise SnmpTimeout("per-device deadline exceeded")
        try:
            return await asyncio.wait_for(coro, remaining)
        except TimeoutError:
            raise SnmpTimeout("per-device deadline exceeded") from None

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        """GET scalars; absent ones (noSuchObject/noSuchInstance) are left out."""
        self.requests += 1
        error_indication, error_status, error_index, var_binds = await self._bounded(
            get_cmd(
                self.client.engine, self._auth, self._target, self._context,
                *[ObjectType(ObjectIdentity(".".join(map(str, o)))) for o in oids],
                lookupMib=False,
            )
        )
        if error_indication:
            reason = _describe(error_indication)
            raise SnmpTimeout(reason) if reason.startswith("no response") else SnmpError(reason)
        if error_status:
            raise SnmpError(f"agent error {error_status.prettyPrint()} at index {int(error_index)}")
        out: dict[Oid, Value] = {}
        for name, value in var_binds:
            converted = to_value(value)
            if converted is not None:
                out[tuple(name)] = converted
        self.varbinds += len(out)
        return out

    async def walk(self, columns: Sequence[Oid]) -> WalkResult:
        """Walk several columns together with GETBULK until each leaves its subtree.

        Stops a column on endOfMibView, on leaving its subtree, on a non-increasing
        OID (reported as a problem) and at ``max_rows``. A timeout or the deadline
        ends the walk with what was read so far and the reason in ``problem``.
        """
        options = self.client.options
        result = WalkResult()
        cursor: dict[Oid, Oid] = {c: c for c in columns}
        rows: dict[Oid, int] = dict.fromkeys(columns, 0)
        active: list[Oid] = list(columns)
        while active:
            width = len(active)
            repetitions = max(1, min(options.max_repetitions, options.max_varbinds // width))
            request = [ObjectType(ObjectIdentity(".".join(map(str, cursor[c])))) for c in active]
            result.requests += 1
            self.requests += 1
            try:
                error_indication, error_status, _, var_binds = await self._bounded(
                    bulk_cmd(
                        self.client.engine, self._auth, self._target, self._context,
                        0, repetitions, *request, lookupMib=False,
                    )
                )
            except SnmpTimeout as exc:
                result.problem = str(exc)
                break
            if error_indication:
                result.problem = _describe(error_indication)
                break
            if error_status:
                result.problem = f"agent error {error_status.prettyPrint()}"
                break
            finished: set[Oid] = set()
            progressed = False
            for position, (name, value) in enumerate(var_binds):
                column = active[position % width]
                if column in finished:
                    continue
                key = tuple(name)
                if _is_end(value) or key[: len(column)] != column:
                    finished.add(column)
                    continue
                if key <= cursor[column]:
                    result.problem = f"non-increasing OID {'.'.join(map(str, key))} in {'.'.join(map(str, column))}"
                    finished.add(column)
                    continue
                cursor[column] = key
                progressed = True
                converted = to_value(value)
                if converted is not None:
                    result.values[key] = converted
                rows[column] += 1
                if rows[column] >= options.max_rows:
                    # Only this column is cut short: said apart from problems, which end the device's walk.
                    result.capped = f"row cap {options.max_rows} reached, rest dropped"
                    finished.add(column)
            if not var_binds or not progressed:
                break
            active = [c for c in active if c not in finished]
        self.varbinds += len(result.values)
        return result
