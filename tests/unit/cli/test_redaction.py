"""Planted secrets never reach the store file, the history, an export or the logs.

Secrets are planted the way they arrive for real: a process command line (as the SSH
scanner reports them), a connection string in free text, a ``db_password`` tag (plain
and AWS-style), a private key, an AWS secret key, a declared-sensitive attribute
(a cloud instance's ``user_data``), a relationship attribute, and a refused value that
an error message would quote. Everything runs through the real ``cmdb`` executable
with debug logging; then the SQLite files are read as bytes and grepped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.unit.cli.test_core_commands import cmdb

SECRETS = [f"Pl4nted{i}Secret" for i in range(8)]
AWS_KEY = "wJalrXUtnFI/K7MDENG/bPxRfiCYEXAMPLEKEY42"  # 40 characters, the AWS secret key form
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"


def _items() -> list[dict[str, Any]]:
    def o(cls: str, ids: dict[str, Any], attrs: dict[str, Any], parent: dict[str, Any] | None = None) -> dict[str, Any]:
        item = {"kind": "ci", "source": "ssh", "scope": "lab", "class": cls, "identifiers": ids, "attributes": attrs}
        return {**item, "parent": parent} if parent else item

    host = {"class": "host", "identifiers": {"machine_id": "m-1"}}
    return [
        o("host", {"machine_id": "m-1"}, {"name": "db-1", "kernel": "6.1",
                                          "tags": {"db_password": SECRETS[0], "team": "data"}}),
        o("software_instance", {"product": "postgres", "port": 5432},
          {"command": f"/usr/bin/postgres -D /data --password={SECRETS[1]} -c ssl=on",
           "description": f"replica of postgres://repl:{SECRETS[2]}@10.0.0.5:5432/app; key {AWS_KEY}"}, host),
        o("software_instance", {"product": "java", "port": 8080},
          {"command": f"java -Dapi.token={SECRETS[3]} -jar app.jar",
           "tags": [{"Key": "db_password", "Value": SECRETS[4]}, {"Key": "env", "Value": "prod"}],
           "description": PEM}, host),
        o("software_instance", {"product": "broken", "port": 9}, {"user": "x"}, host) | {
            "attributes": {"port": f"password={SECRETS[5]}"}},  # refused: its error quotes the value
        {"kind": "rel", "source": "ssh", "scope": "lab", "type": "DEPENDS_ON",
         "from": {"class": "software_instance", "identifiers": {"product": "java", "port": 8080}, "parent": host},
         "to": {"class": "software_instance", "identifiers": {"product": "postgres", "port": 5432}, "parent": host},
         "attributes": {"dsn": f"user=app password={SECRETS[6]} host=db"}},
    ]


def test_planted_secrets_are_absent_everywhere(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    file = tmp_path / "items.jsonl"
    file.write_text("\n".join(json.dumps(i) for i in _items()) + "\n")
    aws = tmp_path / "aws.jsonl"
    aws.write_text(json.dumps({"kind": "ci", "source": "aws", "scope": "acct", "class": "cloud_instance",
                               "identifiers": {"instance_id": "i-1"},
                               "attributes": {"name": "web", "user_data": f"#!/bin/sh\necho {SECRETS[7]}"}}) + "\n")
    logs = ""
    ran = cmdb(["--log-level", "debug", "ingest", str(file), "--source", "ssh", "--scope", "lab", "--json"], data_dir)
    assert ran.returncode == 2, ran.stderr  # the refused item
    logs += ran.stdout + ran.stderr
    out = json.loads(ran.stdout)
    assert [(r["line"], r["field"]) for r in out["rejected"]] == [(4, "attributes.port")]
    # The host and its two software instances; their two parent links and the DEPENDS_ON between them.
    assert out["run"]["counts"]["created"] == 3 and out["run"]["counts"]["relationships_created"] == 3
    ran = cmdb(["--log-level", "debug", "ingest", str(aws), "--source", "aws", "--scope", "acct", "--json"], data_dir)
    assert ran.returncode == 0, ran.stderr
    logs += ran.stdout + ran.stderr

    found = json.loads(cmdb(["search", "--class", "ci", "--json"], data_dir).stdout)["items"]
    # The host, its two software instances (named by their uid: they have no name) and the AWS instance.
    assert sorted((c["name"] if c["name"] != c["uid"] else "", c["class"]) for c in found) == [
        ("", "software_instance"), ("", "software_instance"), ("db-1", "host"), ("web", "cloud_instance")]
    history = ""
    for ci in found:
        shown = cmdb(["ci", ci["uid"], "--json"], data_dir)
        history += shown.stdout + cmdb(["history", ci["uid"], "--json"], data_dir).stdout
        logs += shown.stderr
    export = tmp_path / "export.jsonl"
    exported = cmdb(["export", str(export)], data_dir)
    assert exported.returncode == 0, exported.stderr
    stored = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())

    # What was redacted is still there, marked as such (the grep below would pass on an empty store).
    text = export.read_text()
    assert "--password=[REDACTED]" in text and "postgres://repl:[REDACTED]@10.0.0.5" in text
    assert "-Dapi.token=[REDACTED]" in text and "[REDACTED PRIVATE KEY]" in text
    assert '"db_password":"[REDACTED]"' in text.replace(" ", "") and '"team":"data"' in text.replace(" ", "")
    assert "user_data" not in text and "password=[REDACTED]" in history + text
    for secret in [*SECRETS, AWS_KEY, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"]:
        assert secret.encode() not in stored, f"{secret} in the store files"
        assert secret not in history, f"{secret} in the history"
        assert secret not in text, f"{secret} in the export"
        assert secret not in logs, f"{secret} in the logs"
