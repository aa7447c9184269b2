"""End to end against a moto server: 2 accounts x 2 regions, every resource type, exact sets.

The tests of this module run in order on one estate and one store: first
discovery, an identical second run, changes and aging, then the host scanner's
view of an instance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from cmdb.impact.models import Grade, ImpactRequest
from cmdb.impact.service import ImpactService
from cmdb.ingest import Ingestor
from cmdb.model import Action, RunStatus, ScanRun
from cmdb.observation import Observation
from cmdb.store.sqlite import SQLiteStore
from cmdb.topology.index import TopologyIndex
from discovery.aws import AccountSources, AwsScanConfig, AwsScanner, ClientSettings
from discovery.base import Progress, ProgressHook
from discovery.runner import run_scan
from schema import load_schema
from tests.integration.aws.aws_estate import (
    ACCOUNTS,
    REGIONS,
    Expected,
    account_session,
    build_account,
    ci_key,
    expect_instances,
    reset_moto,
    store_view,
)


@dataclass
class World:
    endpoint: str
    expected: Expected
    per_account: dict[str, Expected]
    store: SQLiteStore
    ingestor: Ingestor
    scanner: AwsScanner
    narrow: AwsScanner  # only the first account's first region (and its global scope)

    def scan(self, narrow: bool = False, progress: ProgressHook | None = None) -> list[ScanRun]:
        return asyncio.run(run_scan(self.narrow if narrow else self.scanner, self.ingestor, progress=progress))


@pytest.fixture(scope="module")
def world(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    reset_moto(moto_endpoint)
    with ThreadPoolExecutor(len(ACCOUNTS)) as pool:  # the accounts are independent: build them side by side
        per_account = dict(zip(ACCOUNTS, pool.map(partial(build_account, moto_endpoint), ACCOUNTS), strict=True))
    expected = Expected()
    for part in per_account.values():
        expected.merge(part)
    store = SQLiteStore(Path(tmp_path_factory.mktemp("aws")) / "cmdb.db")
    client = ClientSettings(endpoint_url=moto_endpoint, max_attempts=2)
    config = AwsScanConfig(
        accounts=AccountSources(role_arns=tuple(f"arn:aws:iam::{a}:role/cmdb-reader" for a in ACCOUNTS)),
        regions=REGIONS, client=client, max_workers=4,
    )
    narrow = AwsScanConfig(accounts=AccountSources(role_arns=(f"arn:aws:iam::{ACCOUNTS[0]}:role/cmdb-reader",)),
                           regions=REGIONS[:1], client=client, max_workers=2)
    world = World(moto_endpoint, expected, per_account, store, Ingestor(store, load_schema()), AwsScanner(config),
                  AwsScanner(narrow))
    try:
        yield world
    finally:
        store.close()


SCOPES = {f"{a}/{r}" for a in ACCOUNTS for r in REGIONS} | {f"{a}/global" for a in ACCOUNTS}


def _history(world: World, runs: list[ScanRun]) -> set[tuple[str, Any, frozenset[str]]]:
    """(action, subject key, changed fields) of every history entry the runs wrote."""
    run_ids = {run.run_id for run in runs}
    by_uid = {ci.uid: ci for batch in world.store.iter_cis() for ci in batch}
    rels = {rel.uid: rel for batch in world.store.iter_relationships() for rel in batch}
    entries = set()
    for batch in world.store.iter_history():
        for entry in batch:
            if entry.run_id not in run_ids:
                continue
            if entry.subject_kind == "ci":
                ci = by_uid[entry.subject_uid]
                subject: Any = (ci.ci_class, ci_key(ci, by_uid))
            else:
                rel = rels[entry.subject_uid]
                subject = (rel.type, ci_key(by_uid[rel.source_uid], by_uid), ci_key(by_uid[rel.target_uid], by_uid))
            entries.add((entry.action.value, subject, frozenset(entry.changes)))
    return entries


def test_first_run_discovers_every_resource_exactly(world: World) -> None:
    ticks: list[Progress] = []
    runs = world.scan(progress=ticks.append)
    assert {run.scope for run in runs} == SCOPES
    assert sorted((t.done, t.total) for t in ticks) == [(n, len(SCOPES)) for n in range(1, len(SCOPES) + 1)]
    assert {t.scope for t in ticks} == SCOPES
    assert {(run.scope, run.status) for run in runs} == {(scope, RunStatus.COMPLETE) for scope in SCOPES}
    assert all(run.counts["rejected"] == 0 for run in runs), [run.errors for run in runs]
    found = store_view(world.store)
    assert found.cis - world.expected.cis == set()
    assert world.expected.cis - found.cis == set()
    assert sorted(found.rels - world.expected.rels) == []
    assert sorted(world.expected.rels - found.rels) == []


def test_every_class_and_relationship_type_is_covered(world: World) -> None:
    classes = {cls for cls, _ in world.expected.cis}
    assert classes == {
        "cloud_account", "cloud_region", "vpc", "subnet", "route_table", "gateway", "security_group",
        "cloud_instance", "cloud_interface", "volume", "cluster", "load_balancer", "database", "function",
        "bucket", "dns_zone", "dns_record", "container_service", "iam_role",
    }
    assert {t for t, _, _ in world.expected.rels} == {
        "CONTAINS", "IN_NETWORK", "USES", "ALLOWS_FROM", "MEMBER_OF", "ATTACHED_TO", "HAS_MEMBER", "ROUTES_TO",
        "RUNS_ON", "RESOLVES_TO",
    }


def test_second_identical_run_changes_nothing(world: World) -> None:
    runs = world.scan()
    assert {(run.scope, run.status) for run in runs} == {(scope, RunStatus.COMPLETE) for scope in SCOPES}
    for run in runs:
        changed = {k: run.counts[k] for k in ("created", "updated", "relationships_created",
                                              "relationships_updated", "stale", "retired")}
        assert changed == dict.fromkeys(changed, 0), run.scope
    assert _history(world, runs) == set()


def test_target_groups_and_asgs_are_redundancy_groups_for_impact(world: World) -> None:
    account, region = ACCOUNTS[0], REGIONS[0]
    handles = world.per_account[account].handles[region]
    cis = {ci.uid: ci for batch in world.store.iter_cis() for ci in batch}
    by_key = {ci_key(ci, cis): uid for uid, ci in cis.items()}
    service = ImpactService(TopologyIndex.load(world.store, load_schema()), load_schema())
    web = [by_key[i] for i in handles["instances"][:2]]
    tg, alb = by_key[handles["web_tg"]], by_key[handles["alb"]]

    one = service.impact(ImpactRequest(uids=(web[0],))).by_uid()
    assert one[tg].grade is Grade.DEGRADED
    assert "1 of 2" in one[tg].explanation
    both = service.impact(ImpactRequest(uids=tuple(web))).by_uid()
    assert both[tg].grade is Grade.DOWN
    assert both[alb].grade is Grade.DOWN
    assert [step.uid for step in both[alb].path][-2:] == [tg, alb]


def test_changes_are_recorded_then_gone_items_age(world: World) -> None:
    account, region = ACCOUNTS[0], REGIONS[0]
    handles = world.per_account[account].handles[region]
    session = account_session(world.endpoint, account)
    ec2 = session.client("ec2", endpoint_url=world.endpoint, region_name=region)
    elbv2 = session.client("elbv2", endpoint_url=world.endpoint, region_name=region)
    doomed, tagged = handles["instances"][1], handles["instances"][0]
    doomed_view = Expected()
    expect_instances(doomed_view, ec2, [doomed], handles["region_key"])
    gone_keys = {key for _, key in doomed_view.cis} | {handles["spare_tg"]}

    ec2.terminate_instances(InstanceIds=[doomed])
    ec2.create_tags(Resources=[tagged], Tags=[{"Key": "team", "Value": "payments"}])
    elbv2.delete_target_group(TargetGroupArn=handles["spare_tg"])
    added = ec2.run_instances(ImageId=handles["image"], InstanceType="t3.micro", MinCount=1, MaxCount=1,
                              SubnetId=handles["subnets"][1], SecurityGroupIds=[handles["web_sg"]],
                              )["Instances"][0]["InstanceId"]
    added_view = Expected()
    expect_instances(added_view, ec2, [added], handles["region_key"])
    before = store_view(world.store)

    # Aging is per scope: rescanning the changed scope (and its account's global one) is enough.
    changed_runs = world.scan(narrow=True)
    assert _history(world, changed_runs) == {
        *{("create", ci, frozenset({*_attrs(world, ci), "class"})) for ci in added_view.cis},
        *{("create", rel, frozenset({"type"} | _rel_attrs(rel))) for rel in added_view.rels},
        ("update", ("cloud_instance", tagged), frozenset({"tags"})),
    }
    after = before.without(gone_keys).merge(added_view)
    gone = before.cis - after.cis, before.rels - after.rels
    assert store_view(world.store).cis == before.cis | added_view.cis  # not aged yet: one missed run

    stale_runs = world.scan(narrow=True)
    assert store_view(world.store).cis == after.cis
    assert store_view(world.store).rels == after.rels
    stale = store_view(world.store, ("stale",))
    assert (stale.cis, stale.rels) == gone
    assert _history(world, stale_runs) == {("stale", s, frozenset({"status"})) for s in gone[0] | gone[1]}

    world.scan(narrow=True)
    retire_runs = world.scan(narrow=True)
    retired = store_view(world.store, ("retired",))
    assert (retired.cis, retired.rels) == gone
    assert _history(world, retire_runs) == {("retire", s, frozenset({"status"})) for s in gone[0] | gone[1]}
    assert all(run.status is RunStatus.COMPLETE for run in retire_runs)


def _attrs(world: World, ci: tuple[str, str]) -> set[str]:
    """The attributes the store holds for a CI (what its create entry lists)."""
    by_uid = {c.uid: c for batch in world.store.iter_cis() for c in batch}
    match = [c for c in by_uid.values() if (c.ci_class, ci_key(c, by_uid)) == ci]
    assert len(match) == 1
    return set(match[0].attributes)


def _rel_attrs(rel: tuple[str, str, str]) -> set[str]:
    return {"device_index"} if rel[0] == "ATTACHED_TO" and rel[1].startswith("eni-") else (
        {"device"} if rel[0] == "ATTACHED_TO" else set())


def test_instance_seen_by_the_host_scanner_is_one_ci(world: World) -> None:
    account, region = ACCOUNTS[1], REGIONS[1]
    instance_id = world.per_account[account].handles[region]["instances"][0]
    with world.ingestor.run("ssh", "hosts") as run:
        # What the SSH scanner sends for an EC2 host: its machine id, and the instance id it reads from IMDS.
        report = run.ingest([Observation(
            source="ssh", scope="hosts", ci_class="host",
            identifiers={"machine_id": "4c4c4544004c4a10", "instance_id": instance_id},
            attributes={"hostname": "web-1", "kernel": "6.1.0", "cpu_count": 2},
        )])
    assert (report.created, report.updated, report.rejected) == (0, 1, [])
    holders = [ci for batch in world.store.iter_cis() for ci in batch if ci.attributes.get("instance_id") == instance_id]
    assert len(holders) == 1
    ci = holders[0]
    assert ci.ci_class == "cloud_instance"
    assert {k: ci.attributes[k] for k in ("machine_id", "hostname", "kernel", "instance_type")} == {
        "machine_id": "4c4c4544004c4a10", "hostname": "web-1", "kernel": "6.1.0", "instance_type": "t3.micro"}
    assert {ci.provenance["hostname"].source, ci.provenance["instance_type"].source} == {"ssh", "aws"}
    assert [e.action for e in world.store.history(ci.uid)][-1] is Action.UPDATE
