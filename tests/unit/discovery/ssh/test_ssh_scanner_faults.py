"""A host whose output parses but cannot make valid Observations fails alone.

The fault is injected (``host_items`` raising pydantic's own ValidationError):
the parser no longer lets the known cause through (a blank process name on a
socket is dropped, see test_ssh_parsers), so it cannot be produced from a real
host's output on demand. What is under test is the scanner's handling of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import discovery.ssh.scanner as scanner_module
from cmdb.observation import Observation
from discovery.ssh.hostkeys import HostKeyMode, HostKeyPolicy
from discovery.ssh.inventory import Credentials, Inventory, Target
from discovery.ssh.scanner import HostOutcome, SSHScanner
from tests.unit.discovery.ssh.ssh_recordings import raw


def bad_items(*_: Any) -> list[Any]:
    Observation.model_validate({"source": "ssh", "scope": "s", "class": "software_instance",
                                "identifiers": {"product": "  ", "port": 22}})
    raise AssertionError("the observation above is invalid")


def test_unbuildable_items_fail_that_host_with_the_field_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory = Inventory.model_validate({"scope": "lab", "hosts": [{"name": "db1", "address": "10.250.9.1"}]})
    scanner = SSHScanner(inventory, host_key_policy=HostKeyPolicy(HostKeyMode.KNOWN_HOSTS, tmp_path / "known_hosts"))
    target = Target(name="db1", address="10.250.9.1", port=22, credentials=Credentials(user="root"),
                    network_scope="global")

    healthy = HostOutcome(target)
    scanner._digest(healthy, raw("lab-db1"), 0, None)
    assert healthy.ok and healthy.identified and healthy.items

    monkeypatch.setattr(scanner_module, "host_items", bad_items)
    broken = HostOutcome(target)
    scanner._digest(broken, raw("lab-db1"), 0, None)  # does not raise
    assert broken.items == [] and not broken.identified and not broken.ok
    assert broken.errors == ["could not build the host's items: identifiers: Value error, identifier 'product' is empty"]
    assert broken.facts is not None and broken.facts.hostname == "db1"  # what was read is kept for the report
