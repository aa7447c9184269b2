"""``cmdb discover hosts --inventory FILE`` as a user runs it, against the namespace lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from cmdb.store.sqlite import SQLiteStore
from tests.integration.ssh.netns import AppLab


def test_discover_hosts_command(app_lab: AppLab, tmp_path: Path) -> None:
    lab = app_lab.lab
    hosts = [app_lab.db, app_lab.app, app_lab.mon]
    (tmp_path / "fp.json").write_text(json.dumps({h.name: [h.fingerprint] for h in hosts[:2]}))
    inventory = {
        "scope": "cli",
        "defaults": {"user": "root", "key_env": "LAB_SSH_KEY"},
        # mon1 is not in the store yet: --record-new-host-keys records it on first use.
        "host_keys": {"mode": "fingerprints", "file": "fp.json"},
        "hosts": [{"name": h.name, "address": h.address} for h in hosts],
        "ranges": [{"cidr": "10.250.31.200/31"}],  # nobody there: reported, the scan still finishes
        "connect_timeout_s": 5,
    }
    (tmp_path / "inv.yaml").write_text(yaml.safe_dump(inventory))
    env = {**os.environ, "LAB_SSH_KEY": lab.client_key_path.read_text()}
    db = tmp_path / "cmdb.sqlite"
    cmd = [str(Path(sys.executable).with_name("cmdb")), "discover", "hosts", "--inventory", str(tmp_path / "inv.yaml"),
           "--store", f"sqlite:///{db}", "--netns", f"{lab.prefix}-scan", "--record-new-host-keys", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 1, out.stderr  # two range addresses failed
    summary = json.loads(out.stdout)
    status = {r["scope"]: r["status"] for r in summary["runs"]}
    assert status == {"cli/db1": "complete", "cli/app1": "complete", "cli/mon1": "complete",
                      "cli/10.250.31.200": "incomplete", "cli/10.250.31.201": "incomplete"}
    assert (summary["hosts"], summary["complete"], summary["failed"]) == (5, 3, 2)
    assert summary["dependencies"]["status"] == "incomplete"
    assert summary["dependencies"]["created"] >= 3
    assert json.loads((tmp_path / "fp.json").read_text())["mon1"] == [app_lab.mon.fingerprint]
    store = SQLiteStore(db)
    try:
        hosts_seen = {c.attributes["hostname"] for batch in store.iter_cis() for c in batch if c.ci_class == "host"}
    finally:
        store.close()
    assert hosts_seen == {"db1", "app1", "mon1"}
    # The key never reaches the output or the store.
    secret_line = lab.client_key_path.read_text().splitlines()[1]
    assert secret_line not in out.stdout + out.stderr and secret_line.encode() not in db.read_bytes()
