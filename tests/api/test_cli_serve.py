"""``cmdb serve`` as a real process, with tokens managed by ``cmdb token create/list/revoke``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.api.conftest import free_port, wait_for_healthz

CMDB = [sys.executable, "-m", "cmdb_cli.main"]


def _cmdb(env: dict[str, str], *args: str) -> str:
    """Token commands in-process (the CLI's import cost is paid once); serve runs as a real process."""
    from typer.testing import CliRunner

    from cmdb_cli.main import app

    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_serve_and_token_lifecycle(tmp_path: Path) -> None:
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path), "CMDB_JOBS_FILE": str(tmp_path / "absent.yaml")}
    env.pop("CMDB_STORE_URL", None)
    created = json.loads(_cmdb(env, "token", "create", "tester", "--role", "viewer", "--json"))
    token = created["token"]
    assert created["role"] == "viewer" and token.startswith("cmdb_")
    stored = (tmp_path / "tokens.sqlite").read_bytes()
    secret = token.split("_", 2)[2]  # cmdb_<id>_<secret>; the secret itself may contain "_"
    assert token.encode() not in stored and secret.encode() not in stored  # hashed only
    listed = json.loads(_cmdb(env, "token", "list", "--json"))
    assert [(t["name"], t["role"], t["revoked_at"]) for t in listed] == [("tester", "viewer", None)]

    port = free_port()
    proc = subprocess.Popen([*CMDB, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_healthz(proc, url, 60, lambda: proc.stderr.read() if proc.stderr else "")
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.post(f"{url}/graphql", json={"query": "{ cis(first: 1) { edges { cursor } } }"}, headers=auth)
        # extensions.changeLog: the store's change-log position the answer reflects (nothing written yet)
        assert r.status_code == 200 and r.json() == {"data": {"cis": {"edges": []}},
                                                     "extensions": {"changeLog": {"position": 0}}}
        trig = httpx.post(f"{url}/graphql", headers=auth,
                          json={"query": 'mutation { triggerDiscovery(job: "x") { __typename } }'})
        assert trig.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        _cmdb(env, "token", "revoke", created["token_id"])
        r = httpx.post(f"{url}/graphql", json={"query": "{ cis(first: 1) { edges { cursor } } }"}, headers=auth)
        assert r.status_code == 401
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
