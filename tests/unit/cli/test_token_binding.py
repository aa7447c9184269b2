"""`cmdb token create --role collector` binds the token to sources and scopes, and refuses what it may not grant."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.cli.test_core_commands import cmdb


def test_collector_tokens_are_created_bound(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    unbound = cmdb(["token", "create", "c1", "--role", "collector"], data_dir)
    assert unbound.returncode == 2 and "needs the sources it may write as" in unbound.stderr
    manual = cmdb(["token", "create", "c2", "--role", "collector", "--source", "manual", "--scope", "x"], data_dir)
    assert manual.returncode == 2 and "may not write as 'manual'" in manual.stderr
    viewer = cmdb(["token", "create", "v", "--role", "viewer", "--source", "aws"], data_dir)
    assert viewer.returncode == 2 and "only collector tokens" in viewer.stderr
    made = cmdb(["token", "create", "c3", "--role", "collector", "--source", "aws", "--scope", "acct-1/*",
                 "--scope", "acct-2/*", "--json"], data_dir)
    assert made.returncode == 0, made.stderr
    assert {k: v for k, v in json.loads(made.stdout).items() if k in ("role", "sources", "scopes")} == {
        "role": "collector", "sources": ["aws"], "scopes": ["acct-1/*", "acct-2/*"]}
    listed = json.loads(cmdb(["token", "list", "--json"], data_dir).stdout)
    assert [(t["name"], t["sources"], t["scopes"]) for t in listed] == [("c3", ["aws"], ["acct-1/*", "acct-2/*"])]
