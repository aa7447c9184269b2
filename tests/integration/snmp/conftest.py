"""Real SNMP agents for the integration tests, started once per session and stopped by PID.

- the lab: one snmpsim per lab device, each on its own 127.0.0.x address (core1 on two);
- the recordings: one snmpsim serving the trimmed real-device recordings, one community each;
- faulty devices: non-UTF-8 strings and truncated tables, and a device that stops answering
  mid-walk (snmpsim's ``delay`` variation holds one ifTable row past the client timeout);
- net-snmp snmpd over v2c and v3 (SHA + AES).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from discovery.snmp.client import Endpoint
from labs.snmp import device_files, free_udp_port
from labs.snmp.generate import DEVICES
from tests.integration.snmp.agents import community, start_snmpd, start_snmpsim, stop, wait_answers

RECORDINGS = Path(__file__).parents[2] / "data" / "snmp" / "recordings"
FAULTY = Path(__file__).parents[2] / "data" / "snmp" / "faulty"
CORE1_SECOND_ADDRESS = "127.0.0.21"
RECORDINGS_SECOND_ADDRESS = "127.0.0.22"


@dataclass(frozen=True)
class Lab:
    port: int
    addresses: dict[str, str]  # device key -> address

    def endpoint(self, key: str) -> Endpoint:
        return Endpoint(self.addresses[key], self.port)


@pytest.fixture(scope="session", autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The SNMP scanner remembers answering addresses in the data dir: keep the tests' out of $HOME."""
    import os

    saved = os.environ.get("CMDB_DATA_DIR")
    os.environ["CMDB_DATA_DIR"] = str(tmp_path_factory.mktemp("cmdb-data"))
    yield
    if saved is None:
        os.environ.pop("CMDB_DATA_DIR", None)
    else:
        os.environ["CMDB_DATA_DIR"] = saved


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Seven simulated devices, each its own snmpsim process and address, community from an env var."""
    addresses = {key: device.address for key, device in DEVICES.items()}
    port = free_udp_port([*addresses.values(), CORE1_SECOND_ADDRESS])
    procs: list[subprocess.Popen[bytes]] = []
    works: dict[str, Path] = {}
    try:
        for key, path in device_files().items():
            work = tmp_path_factory.mktemp(f"sim-{key}")
            (work / "data").mkdir()
            shutil.copy(path, work / "data" / "public.snmprec")
            endpoints = [Endpoint(addresses[key], port)]
            if key == "core1":
                endpoints.append(Endpoint(CORE1_SECOND_ADDRESS, port))
            procs.append(start_snmpsim(work / "data", endpoints, work))
            works[key] = work
        for proc, key in zip(procs, device_files(), strict=True):
            wait_answers(Endpoint(addresses[key], port), community(), proc, works[key] / "snmpsim.log")
        yield Lab(port, addresses)
    finally:
        for proc in procs:
            stop(proc)


@pytest.fixture(scope="session")
def recordings_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """One snmpsim on 127.0.0.1 serving every recording; the community is the file's stem."""
    work = tmp_path_factory.mktemp("sim-recordings")
    (work / "data").mkdir()
    for path in sorted(RECORDINGS.glob("*.snmprec")):
        shutil.copy(path, work / "data" / path.name)
    endpoint = Endpoint("127.0.0.1", free_udp_port(["127.0.0.1", RECORDINGS_SECOND_ADDRESS]))
    # A second address serves the same recordings, so that two of them can be scanned as two devices.
    proc = start_snmpsim(work / "data", [endpoint, Endpoint(RECORDINGS_SECOND_ADDRESS, endpoint.port)], work)
    try:
        first = sorted(RECORDINGS.glob("*.snmprec"))[0].stem
        wait_answers(endpoint, community(first), proc, work / "snmpsim.log")
        yield endpoint
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def faulty_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """snmpsim on 127.0.0.1 serving the faulty devices (community = file stem)."""
    work = tmp_path_factory.mktemp("sim-faulty")
    (work / "data").mkdir()
    for path in sorted(FAULTY.glob("*.snmprec")):
        shutil.copy(path, work / "data" / path.name)
    endpoint = Endpoint("127.0.0.1", free_udp_port(["127.0.0.1"]))
    proc = start_snmpsim(work / "data", [endpoint], work, variations=["delay"])
    try:
        wait_answers(endpoint, community("garbage"), proc, work / "snmpsim.log")
        yield endpoint
    finally:
        stop(proc)


SNMPD_V2_COMMUNITY = "cmdb-test-ro"
SNMPD_V3 = {"user": "cmdbuser", "auth": "cmdb-auth-pass-1", "priv": "cmdb-priv-pass-1"}


@pytest.fixture(scope="session")
def snmpd_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """net-snmp snmpd serving this host over v2c and v3 (SHA/AES, authPriv)."""
    if shutil.which("snmpd") is None and not Path("/usr/sbin/snmpd").exists():
        pytest.fail("snmpd is not installed: apt-get install -y snmpd snmp")
    work = tmp_path_factory.mktemp("snmpd")
    endpoint = Endpoint("127.0.0.1", free_udp_port(["127.0.0.1"]))
    conf = work / "snmpd.conf"
    conf.write_text(
        f"agentAddress udp:{endpoint.host}:{endpoint.port}\n"
        f"rocommunity {SNMPD_V2_COMMUNITY} 127.0.0.1\n"
        f"createUser {SNMPD_V3['user']} SHA \"{SNMPD_V3['auth']}\" AES \"{SNMPD_V3['priv']}\"\n"
        f"rouser {SNMPD_V3['user']} priv\n"
        "sysName snmpd-host.lab.example\n"
        "sysServices 72\n",
        encoding="utf-8",
    )
    proc = start_snmpd(conf, work)
    try:
        wait_answers(endpoint, community(SNMPD_V2_COMMUNITY), proc, work / "snmpd.log")
        yield endpoint
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def misbehaving_agent() -> Iterator[Endpoint]:
    """The in-test agent whose GETBULK answers go backwards (stopped at session end)."""
    from tests.integration.snmp.misbehaving_agent import MisbehavingAgent

    agent = MisbehavingAgent().start()
    try:
        yield Endpoint("127.0.0.1", agent.port)
    finally:
        agent.stop()


@pytest.fixture
def private_lab(tmp_path: Path) -> Iterator[tuple[Lab, dict[str, subprocess.Popen[bytes]]]]:
    """The lab on its own snmpsim processes and port, for tests that stop or restart a device (procs by key;
    a test that restarts one puts its new process in the dict, which is stopped at the end)."""
    addresses = {key: device.address for key, device in DEVICES.items()}
    port = free_udp_port(list(addresses.values()))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for key, path in device_files().items():
            work = tmp_path / f"sim-{key}"
            (work / "data").mkdir(parents=True)
            shutil.copy(path, work / "data" / "public.snmprec")
            procs[key] = start_snmpsim(work / "data", [Endpoint(addresses[key], port)], work)
        for key, proc in procs.items():
            wait_answers(Endpoint(addresses[key], port), community(), proc, tmp_path / f"sim-{key}" / "snmpsim.log")
        yield Lab(port, addresses), procs
    finally:
        for proc in procs.values():
            stop(proc)
