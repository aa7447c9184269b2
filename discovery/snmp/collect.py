"""What to read from one device, in which order, within its deadline."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.client import Endpoint, SnmpClient, SnmpError, SnmpTimeout
from discovery.snmp.credentials import Credential, CredentialError
from discovery.snmp.device import DeviceWalk

# Tables walked together share a request stream (same row indexes).
WALK_GROUPS: tuple[tuple[oids.Table, ...], ...] = (
    (oids.IF_TABLE, oids.IF_X_TABLE),
    (oids.ENT_PHYSICAL,),
    (oids.IP_ADDR_TABLE,),
    (oids.IP_ADDRESS_TABLE,),
    (oids.LLDP_LOC_PORT,),
    (oids.LLDP_REM,),
    (oids.LLDP_REM_MAN_ADDR,),
    (oids.CDP_CACHE,),
    (oids.IP_NET_TO_MEDIA,),
    (oids.IP_NET_TO_PHYSICAL,),
    (oids.DOT1D_BASE_PORT,),
    (oids.DOT1D_TP_FDB,),
    (oids.DOT1Q_TP_FDB,),
)
HOST_GROUPS: tuple[tuple[oids.Table, ...], ...] = ((oids.HR_SW_RUN,), (oids.HR_STORAGE,))


@dataclass
class Collected:
    """A walk (possibly partial) or a failure reason; ``fatal`` when nothing usable came back."""

    endpoint: Endpoint
    walk: DeviceWalk | None
    error: str | None
    silent: bool = False  # every attempt timed out: nothing answers there
    credential: str | None = None
    requests: int = 0
    varbinds: int = 0
    seconds: float = 0.0


async def collect_device(
    client: SnmpClient, endpoint: Endpoint, credentials: Sequence[Credential], deadline_s: float
) -> Collected:
    """Find a credential that answers, then walk every table group until done or the deadline."""
    started = time.monotonic()
    deadline = started + deadline_s
    if not credentials:
        return Collected(endpoint, None, "no credential configured for this address")
    reasons: list[str] = []
    timeouts = 0
    for credential in credentials:
        try:
            session = await client.session(endpoint, credential, deadline)
            scalars = await session.get(oids.SCALARS)
        except SnmpTimeout as exc:
            timeouts += 1
            reasons.append(f"{credential.name}: {exc}")
            continue
        except (SnmpError, CredentialError) as exc:
            reasons.append(f"{credential.name}: {exc}")
            continue
        except OSError as exc:
            return Collected(endpoint, None, f"cannot reach {endpoint}: {exc.strerror or exc}")
        if not scalars:
            reasons.append(f"{credential.name}: agent answered with no system group")
            continue
        break
    else:
        return Collected(
            endpoint, None, "; ".join(reasons), silent=timeouts == len(credentials),
            seconds=time.monotonic() - started,
        )

    walk = DeviceWalk(address=str(endpoint), scalars=scalars)
    groups = WALK_GROUPS + (HOST_GROUPS if oids.HR_SYSTEM_UPTIME in scalars else ())
    for group in groups:
        columns = [c for table in group for c in table.column_oids()]
        result = await session.walk(columns)
        walk.values.update(result.values)
        if result.capped:
            walk.capped.append(f"{'+'.join(t.name for t in group)}: {result.capped}")
        if result.problem:
            names = "+".join(t.name for t in group)
            walk.problems.append(f"{names}: {result.problem}")
            if result.problem.startswith(("no response", "per-device deadline")):
                break  # the device stopped answering: keep what was read, skip the rest
    return Collected(
        endpoint, walk, None, credential=credential.name, requests=session.requests,
        varbinds=session.varbinds, seconds=time.monotonic() - started,
    )
