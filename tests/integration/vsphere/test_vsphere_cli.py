"""``cmdb discover vsphere`` and a jobs-file ``vsphere`` job end to end: real CLI processes, a real vcsim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cmdb.store.sqlite import SQLiteStore
from labs.vcsim import Vcsim

CMDB = str(Path(sys.executable).with_name("cmdb"))


def _cmdb(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "CMDB_STORE_URL": f"sqlite:///{tmp_path / 'cmdb.db'}", "CMDB_DATA_DIR": str(tmp_path),
                **env}
    return subprocess.run([CMDB, *args], capture_output=True, text=True, env=full_env, timeout=300, check=False)


def _classes(tmp_path: Path) -> dict[str, int]:
    store = SQLiteStore(tmp_path / "cmdb.db")
    try:
        out: dict[str, int] = {}
        for batch in store.iter_cis():
            for ci in batch:
                out[ci.ci_class] = out.get(ci.ci_class, 0) + 1
        return out
    finally:
        store.close()


DEFAULT_CLASSES = {"location": 1, "cluster": 1, "physical_server": 4, "virtual_machine": 4, "volume": 1, "network": 4}


def test_discover_vsphere_with_a_password_by_reference(vcsim_default: Vcsim, tmp_path: Path) -> None:
    done = _cmdb(["discover", "vsphere", "--server", vcsim_default.server, "--user", vcsim_default.user,
                  "--password-ref", "env:TEST_VC_PASSWORD", "--insecure", "--page-size", "5", "--json"],
                 tmp_path, TEST_VC_PASSWORD=vcsim_default.password)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert [(s["scope"], s["status"], s["created"], s["relationships_created"], s["errors"])
            for s in summary["scopes"]] == [(vcsim_default.server, "complete", 15, 27, [])]
    assert _classes(tmp_path) == DEFAULT_CLASSES
    # The password is nowhere: not in the output, not in the store file.
    assert vcsim_default.password not in done.stdout + done.stderr
    assert vcsim_default.password.encode() not in (tmp_path / "cmdb.db").read_bytes()


def test_discover_vsphere_wrong_password_exits_1_with_the_reason(vcsim_default: Vcsim, tmp_path: Path) -> None:
    secret = tmp_path / "vc_password"
    secret.write_text("wrong-password\n")
    done = _cmdb(["discover", "vsphere", "--server", vcsim_default.server, "--user", vcsim_default.user,
                  "--password-ref", f"file:{secret}", "--insecure", "--json"], tmp_path)
    assert done.returncode == 1, done.stderr
    scope = json.loads(done.stdout)["scopes"][0]
    assert (scope["status"], scope["errors"]) == (
        "incomplete", [f"login to {vcsim_default.server} as 'cmdb' refused: wrong user name or password"])
    assert "wrong-password" not in done.stdout + done.stderr


def test_discover_vsphere_unresolvable_reference_is_refused(tmp_path: Path) -> None:
    done = _cmdb(["discover", "vsphere", "--server", "127.0.0.1:9", "--user", "u", "--password-ref",
                  "env:CMDB_TEST_UNSET_VAR"], tmp_path)
    assert done.returncode == 2
    assert "environment variable CMDB_TEST_UNSET_VAR is not set" in done.stderr


def test_jobs_file_vsphere_job(vcsim_default: Vcsim, tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "vc").write_text(vcsim_default.password + "\n")
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        "  - name: vc-lab\n"
        "    scanner: vsphere\n"
        "    schedule: {interval: 900}\n"
        "    credentials: {password: file:secrets/vc}\n"
        f"    options: {{server: '{vcsim_default.server}', user: {vcsim_default.user}, insecure: true}}\n"
    )
    validated = _cmdb(["jobs", "validate", "-j", str(jobs)], tmp_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    done = _cmdb(["discover", "job", "vc-lab", "-j", str(jobs), "--json"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _classes(tmp_path) == DEFAULT_CLASSES
    bad = tmp_path / "bad.yaml"
    bad.write_text("jobs:\n  - name: vc\n    scanner: vsphere\n    options: {server: vc.example.com}\n")
    refused = _cmdb(["jobs", "validate", "-j", str(bad)], tmp_path)
    assert refused.returncode == 2
    assert "give credentials.password" in refused.stdout + refused.stderr
    assert "give options.user or credentials.user" in refused.stdout + refused.stderr
