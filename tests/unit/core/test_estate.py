"""The synthetic estate, seen by four overlapping sources, ingests to exactly its ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmdb.model import CI
from labs.synthetic import EstateSpec, SyntheticEstate
from tests.builders import Harness

_KEY_ATTR = {
    "cloud_account": "account_id", "vpc": "network_id", "subnet": "subnet_id", "security_group": "group_id",
    "load_balancer": "arn", "cluster": "cluster_id", "database": "db_id", "cloud_instance": "instance_id",
    "volume": "volume_id", "cloud_interface": "interface_id", "business_service": "name", "application": "name",
    "location": "site_code", "rack": "site_code", "physical_server": "serial_number",
}
_CHILD_ATTR = {"cloud_region": "region", "interface": "name", "software_instance": "product",
               "software_package": "package_name"}


def natural_keys(cis: list[CI]) -> dict[str, tuple[str, str]]:
    """uid -> (class, the generator's natural key) for every CI in the store."""
    by_uid = {c.uid: c for c in cis}

    def key(ci: CI) -> str:
        a: dict[str, Any] = ci.attributes
        if ci.ci_class in _KEY_ATTR:
            return str(a[_KEY_ATTR[ci.ci_class]])
        if ci.ci_class in _CHILD_ATTR:
            assert ci.parent_uid is not None
            return f"{key(by_uid[ci.parent_uid])}/{a[_CHILD_ATTR[ci.ci_class]]}"
        if ci.ci_class == "ip_address":
            return f"{a['network_scope']}/{a['address']}"
        if ci.ci_class == "switch":
            return str(a["sys_name"]).split(".")[0]
        raise AssertionError(f"no natural key for {ci.ci_class}")

    return {c.uid: (c.ci_class, key(c)) for c in cis}


def ingest_estate(h: Harness, spec: EstateSpec) -> SyntheticEstate:
    estate = SyntheticEstate(spec)
    for source, scope, items in estate.streams():
        _, report = h.run(items, source=source, scope=scope)
        assert report.rejected == []
    return estate


def test_the_estate_ends_as_exactly_its_ground_truth(tmp_path: Path) -> None:
    h = Harness(tmp_path / "estate.sqlite")
    estate = ingest_estate(h, EstateSpec(apps=8, racks=2, servers_per_rack=2, mesh=2))
    keys = natural_keys(h.all_cis())
    assert set(keys.values()) == estate.truth.cis
    assert len(keys) == len(estate.truth.cis)  # no duplicates: each real thing is one CI
    rels = {(keys[r.source_uid][1], r.type, keys[r.target_uid][1]) for r in h.all_rels()}
    assert rels == estate.truth.relationships
    # Instances are seen by aws and by ssh: one CI carries both sources' identifiers.
    instance = h.find("cloud_instance", instance_id="i-0000000")
    assert {p.source for p in instance.provenance.values()} == {"aws", "ssh"}
    assert instance.attributes["fqdn"] == "app-00000-0.prod.example.internal"

    history = h.store.counts().history
    second = ingest_estate(h, EstateSpec(apps=8, racks=2, servers_per_rack=2, mesh=2))
    assert second.truth == estate.truth
    assert h.store.counts().history == history  # nothing changed the second time
    h.store.close()
