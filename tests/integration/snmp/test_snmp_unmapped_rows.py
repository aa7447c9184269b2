"""ARP and forwarding rows on ports a device does not list, end to end: two real recordings
served by snmpsim, scanned by the real ``cmdb discover snmp`` process into a SQLite store.

- the Juniper MX960 maps every bridge port to ifIndex 0: its 215 learned Q-BRIDGE rows
  have no interface;
- the NSFOCUS ADS lists its 9 ipNetToPhysicalTable rows on ifIndex 21, which its ifTable lacks.

Neither fails nor stops the scan: both devices are ``ok`` with a warning each, the run is
complete, the summary counts the rows, one structured ``target_warning`` per device goes to
the log, and the NSFOCUS's address-MAC bindings are in the store without a SEEN_BEHIND.
Only 127.0.0.1 and 127.0.0.22 are scanned, with no crawl.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cmdb.store.sqlite import SQLiteStore
from discovery.snmp.client import Endpoint
from tests.integration.snmp.agents import community
from tests.integration.snmp.conftest import RECORDINGS_SECOND_ADDRESS

CMDB = str(Path(sys.executable).with_name("cmdb"))
JUNIPER, NSFOCUS = "juniper-mx960-12-3r6-6", "nsfocus-ads"
JUNIPER_WARNING = ("dot1qTpFdbTable: 215 rows on bridge ports 1, 13, 14, 15, 16, 17, 41, 42 (+5 more): "
                   "no ifIndex in dot1dBasePortTable; dropped")
NSFOCUS_WARNING = ("ipNetToPhysicalTable: 9 rows on ifIndex 21: not in the ifTable; "
                   "address-MAC bindings kept, no SEEN_BEHIND")


def _env_name(credential: Any) -> str:
    return str(credential.community.env)


def test_rows_on_unknown_ports_are_warnings_counted_logged_and_keep_their_bindings(
        recordings_agent: Endpoint, tmp_path: Path) -> None:
    juniper, nsfocus = community(JUNIPER), community(NSFOCUS)  # each community sits in its own env var
    second = f"{RECORDINGS_SECOND_ADDRESS}:{recordings_agent.port}"
    (tmp_path / "targets.yaml").write_text(
        f"scope: unmapped\nport: {recordings_agent.port}\ntargets:\n"
        f"  - seeds: [{recordings_agent.host}]\n    credentials: [juniper]\n"
        f"  - seeds: [{RECORDINGS_SECOND_ADDRESS}]\n    credentials: [nsfocus]\n", encoding="utf-8")
    (tmp_path / "credentials.yaml").write_text(
        f"juniper: {{version: 2c, community_env: {_env_name(juniper)}}}\n"
        f"nsfocus: {{version: 2c, community_env: {_env_name(nsfocus)}}}\n", encoding="utf-8")
    db = tmp_path / "store.sqlite"
    result = subprocess.run(
        [CMDB, "--json-logs", "discover", "snmp", "--targets", str(tmp_path / "targets.yaml"),
         "--credentials", str(tmp_path / "credentials.yaml"), "--store", f"sqlite:///{db}", "--timeout", "3",
         "--retries", "2", "--json"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "CMDB_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["status"], summary["devices"], summary["partial"], summary["failed"], summary["unmapped"]) == (
        "complete", 2, 0, 0, 224)
    assert {(d["address"], d["status"], d["unmapped"], tuple(d["warnings"])) for d in summary["devices_detail"]} == {
        (str(recordings_agent), "ok", 215, (JUNIPER_WARNING,)),
        (second, "ok", 9, (NSFOCUS_WARNING,)),
    }
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert {(r["level"], r["source"], r["scope"], r["target"], r["reason"]) for r in records
            if r.get("event") == "target_warning"} == {
        # each device's warning is logged with its part of the scope
        ("warning", "snmp", "unmapped/dumsys-17", str(recordings_agent), JUNIPER_WARNING),
        ("warning", "snmp", "unmapped/dumsys-74", second, NSFOCUS_WARNING),
    }
    assert not [r for r in records if r.get("event") == "target_failed"]

    store = SQLiteStore(db)
    try:
        cis = [c for batch in store.iter_cis() for c in batch]
        runs = store.list_runs(source="snmp")
        rels = [r for batch in store.iter_relationships() for r in batch]
    finally:
        store.close()
    # the warnings stay with each device's (complete) part run; the links and the scope's own run complete
    assert sorted((r.scope, r.status.value, r.errors) for r in runs) == [
        ("unmapped", "complete", []),
        ("unmapped/dumsys-17", "complete", [f"{recordings_agent}: {JUNIPER_WARNING}"]),
        ("unmapped/dumsys-74", "complete", [f"{second}: {NSFOCUS_WARNING}"]),
        ("unmapped:links", "complete", []),
    ]
    by_address = {str(c.attributes.get("name")): c for c in cis if c.ci_class == "ip_address"}
    assert {(a, by_address[a].attributes.get("mac")) for a in (
        "60.1.254.2", "60.1.254.5", "60.1.254.6", "60.1.254.13", "60.1.254.104", "60.1.254.141", "60.1.254.203",
        "60.1.254.218", "60.1.254.230") if a in by_address} == {
        ("60.1.254.2", "34:b3:54:10:98:56"), ("60.1.254.5", "28:6e:d4:88:c6:ea"), ("60.1.254.6", "28:6e:d4:88:c7:12"),
        ("60.1.254.13", "28:6e:d4:88:c6:64"), ("60.1.254.104", "28:6e:d4:88:c7:01"),
        ("60.1.254.141", "3c:97:0e:5c:e1:6e"), ("60.1.254.203", "20:47:47:76:19:d4"),
        ("60.1.254.218", "b0:51:8e:07:89:cb"), ("60.1.254.230", "00:90:0b:3c:34:bb"),
    }
    assert not [r for r in rels if r.type == "SEEN_BEHIND"]
