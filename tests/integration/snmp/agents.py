"""Starting and stopping real SNMP agents (snmpsim, net-snmp snmpd) for the tests."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from discovery.snmp import oids
from discovery.snmp.client import ClientOptions, Endpoint, SnmpClient, SnmpError
from discovery.snmp.credentials import Credential, SecretRef, V2cCredential
from labs.demo.processes import terminate

COMMUNITY_ENV = "CMDB_TEST_SNMP_COMMUNITY"


def community(value: str = "public", name: str | None = None) -> V2cCredential:
    """A v2c credential whose community sits in an environment variable (named ``name``,
    by default "lab" for the lab's community and the community itself for recordings)."""
    os.environ.setdefault(COMMUNITY_ENV, "public")
    if value == "public":
        return V2cCredential(name=name or "lab", community=SecretRef(env=COMMUNITY_ENV))
    env = "CMDB_TEST_SNMP_COMMUNITY_" + re.sub(r"\W", "_", value).upper()
    os.environ[env] = value
    return V2cCredential(name=name or value, community=SecretRef(env=env))


def wait_answers(endpoint: Endpoint, credential: Credential, proc: subprocess.Popen[bytes], log: Path,
                 timeout: float = 60) -> None:
    """Block until a GET of sysName answers (snmpsim binds before it has indexed its data)."""
    async def probe() -> bool:
        client = SnmpClient(ClientOptions(timeout=0.5, retries=0))
        try:
            session = await client.session(endpoint, credential)
            return bool(await session.get([oids.SYS_NAME, oids.SYS_DESCR]))
        except SnmpError:
            return False
        finally:
            client.close()

    deadline = time.monotonic() + timeout
    while not asyncio.run(probe()):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"agent at {endpoint} did not answer: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def wait_idle(endpoint: Endpoint, credential: Credential, timeout: float = 60) -> None:
    """Block until the agent answers again (snmpsim's ``delay`` holds the whole process)."""
    async def probe() -> bool:
        client = SnmpClient(ClientOptions(timeout=1.0, retries=0))
        try:
            session = await client.session(endpoint, credential)
            return bool(await session.get([oids.SYS_NAME]))
        except SnmpError:
            return False
        finally:
            client.close()

    deadline = time.monotonic() + timeout
    while not asyncio.run(probe()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"agent at {endpoint} stays busy")


def start_snmpsim(data_dir: Path, endpoints: Sequence[Endpoint], work: Path, extra: Sequence[str] = (),
                  variations: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """snmpsim-command-responder serving ``data_dir`` on ``endpoints`` (v3 options in ``extra``).

    Only the named variation modules are loaded (loading all nine halves start-up speed).
    """
    import snmpsim

    modules = work / "variation"
    modules.mkdir(exist_ok=True)
    for name in variations:
        (modules / f"{name}.py").symlink_to(Path(snmpsim.__file__).parent / "variation" / f"{name}.py")
    binary = Path(sys.executable).with_name("snmpsim-command-responder")
    args = [str(binary), "--v3-engine-id=auto", *extra, f"--variation-modules-dir={modules}",
            f"--data-dir={data_dir}", f"--cache-dir={work / 'cache'}"]
    args += [f"--agent-udpv4-endpoint={e.host}:{e.port}" for e in endpoints]
    log = work / "snmpsim.log"
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"})


def start_snmpd(conf: Path, work: Path) -> subprocess.Popen[bytes]:
    """net-snmp snmpd in the foreground, no MIBs loaded, no SMUX/TCP 199, state in ``work``."""
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    log = work / "snmpd.log"
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(work / "persist"), "MIBS": ""}
    (work / "persist").mkdir(exist_ok=True)
    with open(work / "snmpd.out", "wb") as out:
        return subprocess.Popen([binary, "-f", "-C", "-c", str(conf), "-Lf", str(log), "-m", "", "-I", "-smux"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)


stop = terminate  # SIGTERM by PID, then SIGKILL if it lingers
