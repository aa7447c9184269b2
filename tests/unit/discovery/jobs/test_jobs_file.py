"""The jobs file: what is accepted, and what is refused with its line and reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from discovery.jobs import CredentialRef, JobsFileError, load_jobs, parse_jobs
from discovery.scanner_registry import REGISTRY, ScannerUnavailable, build_scanner

GOOD = """\
defaults: {timeout: 120, concurrency: 4}
jobs:
  - name: estate
    scanner: sample
    schedule: {interval: 30, jitter: 5}
    options: {apps: 2}
  - name: aws-lab
    scanner: aws
    schedule: {cron: "*/15 * * * *"}
    timeout: 600
    credentials:
      access_key_id: env:JOBS_TEST_KEY
      secret_access_key: file:secret.txt
    options: {regions: [eu-west-1], endpoint_url: "http://127.0.0.1:1"}
"""


def _problems(text: str, tmp_path: Path | None = None) -> list[tuple[int | None, str, str]]:
    with pytest.raises(JobsFileError) as info:
        parse_jobs(textwrap.dedent(text), "jobs.yaml", base_dir=tmp_path)
    return [(p.line, p.where, p.reason) for p in info.value.problems]


def test_a_good_file_validates_with_defaults_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBS_TEST_KEY", "AKIDEXAMPLE")
    (tmp_path / "secret.txt").write_text("s3cret\n")
    path = tmp_path / "jobs.yaml"
    path.write_text(GOOD)
    jobs = load_jobs(path)
    assert [(j.name, j.scanner, j.timeout, j.concurrency, j.line) for j in jobs] == [
        ("estate", "sample", 120, 4, 3), ("aws-lab", "aws", 600, 4, 7)]
    secrets = jobs.get("aws-lab").resolve_credentials()
    assert secrets["secret_access_key"].reveal() == "s3cret"
    assert "s3cret" not in repr(secrets) and "AKIDEXAMPLE" not in repr(secrets)
    schedule = jobs.get("estate").spec.schedule
    assert schedule is not None and schedule.describe() == "every 30s (jitter 5s)"


def test_bad_cron_expression_is_refused_with_its_line() -> None:
    problems = _problems("""\
        jobs:
          - name: a
            scanner: sample
            schedule:
              cron: "61 * * * *"
        """)
    assert len(problems) == 1
    line, where, reason = problems[0]
    assert (line, where) == (5, "jobs[0].schedule.cron")
    assert "invalid cron expression '61 * * * *'" in reason


def test_unknown_scanner_is_refused_with_its_line() -> None:
    problems = _problems("""\
        jobs:
          - name: a
            scanner: sample
          - name: b
            scanner: mainframe
        """)
    assert problems == [(5, "jobs[1].scanner", "unknown scanner 'mainframe' (known: aws, hosts, sample, snmp, vsphere)")]


def test_missing_credential_reference_is_refused_with_its_line(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBS_TEST_ABSENT", raising=False)
    problems = _problems("""\
        jobs:
          - name: a
            scanner: aws
            credentials:
              access_key_id: env:JOBS_TEST_ABSENT
              secret_access_key: file:nowhere/secret
        """, tmp_path)
    assert problems == [
        (5, "jobs[0].credentials.access_key_id",
         "credential env:JOBS_TEST_ABSENT: environment variable JOBS_TEST_ABSENT is not set"),
        (6, "jobs[0].credentials.secret_access_key",
         f"credential file:nowhere/secret: file {tmp_path}/nowhere/secret does not exist"),
    ]


def test_malformed_reference_and_other_mistakes_are_all_reported() -> None:
    problems = _problems("""\
        jobs:
          - name: a
            scanner: sample
            schedule: {interval: 10, cron: "* * * * *"}
            credentials: {token: "hunter2"}
            surprise: 1
        """)
    assert [(line, where) for line, where, _ in problems] == [
        (4, "jobs[0].schedule"), (5, "jobs[0].credentials"), (6, "jobs[0].surprise")]
    reasons = [r for _, _, r in problems]
    assert "exactly one of 'cron' or 'interval'" in reasons[0]
    assert "must be 'env:NAME' or 'file:/path'" in reasons[1]
    assert "hunter2" in reasons[1]  # the value typed where a reference belongs; it is not a resolved secret
    assert reasons[2] == "unknown field"


def test_duplicate_names_options_and_credential_keys_per_scanner() -> None:
    problems = _problems("""\
        jobs:
          - name: a
            scanner: sample
            options: {apps: 0}
          - name: a
            scanner: sample
            credentials: {ssh_key: env:HOME}
        """)
    assert [(line, where) for line, where, _ in problems] == [
        (4, "jobs[0].options.apps"), (5, "jobs[1].name"), (7, "jobs[1].credentials.ssh_key")]


def test_yaml_syntax_errors_name_the_line() -> None:
    problems = _problems("jobs:\n  - name: a\n    scanner: [sample\n")
    assert problems[0][0] is not None and "not valid YAML" in problems[0][2]


def test_credential_reference_parsing() -> None:
    assert str(CredentialRef.parse("env:AWS_KEY")) == "env:AWS_KEY"
    assert CredentialRef.parse("file:/etc/x").kind == "file"
    with pytest.raises(ValueError):
        CredentialRef.parse("vault:kv/x")


def test_snmp_target_problems_come_from_the_snmp_scanner() -> None:
    problems = _problems("jobs:\n  - name: s\n    scanner: snmp\n    options: {targets: []}\n")
    assert problems == [(4, "jobs[0].options", "snmp targets: no targets")]


def test_registry_builds_lazily_and_names_a_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = parse_jobs("jobs:\n  - {name: s, scanner: snmp, options: {targets: [127.0.0.1]}}\n")
    monkeypatch.setitem(REGISTRY, "snmp", REGISTRY["snmp"])
    import sys

    monkeypatch.setitem(sys.modules, "discovery.snmp.scanner", None)  # as if the module were absent
    with pytest.raises(ScannerUnavailable, match=r"scanner 'snmp' is not available: cannot import discovery.snmp"):
        build_scanner(jobs.get("s"))


def test_builders_map_options_and_credential_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("not read at build time\n")
    monkeypatch.setenv("JOBS_TEST_AWS_KEY", "AKIDEXAMPLE")
    monkeypatch.setenv("JOBS_TEST_AWS_SECRET", "s3cret")
    jobs = parse_jobs(textwrap.dedent("""\
        defaults: {concurrency: 3}
        jobs:
          - name: dc
            scanner: hosts
            credentials: {ssh_key: file:id_ed25519}
            options:
              inventory: {scope: dc, hosts: [db1], host_keys: {mode: known_hosts, file: known}}
          - name: cloud
            scanner: aws
            concurrency: 5
            credentials: {access_key_id: env:JOBS_TEST_AWS_KEY, secret_access_key: env:JOBS_TEST_AWS_SECRET}
            options: {regions: [eu-west-1], role_arns: ["arn:aws:iam::111111111111:role/r"], endpoint_url: "http://127.0.0.1:1"}
        """), "jobs.yaml", base_dir=tmp_path)
    hosts = build_scanner(jobs.get("dc"))
    inventory = hosts.inventory  # type: ignore[attr-defined]
    assert (inventory.scope, inventory.concurrency, inventory.defaults.key_file) == ("dc", 3, str(key))
    assert [t.name for t in inventory.targets()] == ["db1"]
    cloud = build_scanner(jobs.get("cloud"))
    config = cloud.config  # type: ignore[attr-defined]
    assert (config.regions, config.max_workers, config.client.endpoint_url) == (("eu-west-1",), 5, "http://127.0.0.1:1")
    assert config.accounts.role_arns == ("arn:aws:iam::111111111111:role/r",)
    assert config.accounts.session_name == "cmdb-cloud"
    assert config.accounts.base_credentials.secret_access_key == "s3cret"
    assert "s3cret" not in repr(config)
