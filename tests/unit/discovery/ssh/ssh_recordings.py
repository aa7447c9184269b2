"""Recorded collection outputs (tests/data/ssh) and what is known about them."""

from __future__ import annotations

from pathlib import Path

from discovery.ssh.facts import HostFacts
from discovery.ssh.observations import HostContext
from discovery.ssh.parsers import parse_host

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "ssh"

MACHINE_IDS = {
    "db1": "849e89f46354eae997504e3541b5c34a",
    "app1": "060a4a5c9cb337536f36eab493d9c866",
    "mon1": "ece4c45db2f5282bb16730998f7f1183",
}
ADDRESSES = {"db1": "10.250.9.1", "app1": "10.250.9.2", "mon1": "10.250.9.3"}


def raw(name: str) -> str:
    return (DATA / f"{name}.txt").read_text()


def lab_facts(host: str) -> HostFacts:
    return parse_host(raw(f"lab-{host}"))


def context(host: str, scope: str = "lab") -> HostContext:
    return HostContext(name=host, scope=f"{scope}/{host}", observed_at=1_700_000_000_000,
                       address=ADDRESSES.get(host), host_key="SHA256:test")


def replace_section(text: str, name: str, body: str, rc: int = 0) -> str:
    """A copy of a recording with one section's output and exit status replaced."""
    begin, end = f"@@cmdb-begin {name}\n", f"@@cmdb-end {name} "
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    tail = tail.split("\n", 1)[1]
    return f"{head}{begin}{body}\n{end}{rc}\n{tail}"
