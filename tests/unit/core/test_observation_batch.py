"""observe_many / relate_many: the same Observations and errors as validation, built in batches."""

from __future__ import annotations

import enum
from typing import Any

import pytest
from pydantic import ValidationError

from cmdb.observation import (
    CIRef,
    Evidence,
    Method,
    Observation,
    ObservedRelation,
    dump_item,
    observe_many,
    relate_many,
)

SHARED: dict[str, Any] = {"source": "ssh", "scope": "lab/db1", "observed_at": 1_700_000_000_000}
HOST = CIRef(ci_class="host", identifiers={"machine_id": "849e89f46354eae997504e3541b5c34a"})


class Port(enum.IntEnum):
    SSH = 22


class Name(str):
    pass


def _validated(ci_class: str, row: tuple[dict[str, Any], dict[str, Any]], parent: CIRef | None) -> Observation:
    raw: dict[str, Any] = {"class": ci_class, "identifiers": row[0], "attributes": row[1], **SHARED}
    if parent is not None:
        raw["parent"] = parent
    return Observation.model_validate(raw)


def _rows() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        ({"package_name": "openssh-server"}, {"name": "openssh-server", "version": "1:9.2p1-2", "architecture": "amd64"}),
        ({"package_name": "zstd"}, {"name": "zstd", "version": "1.5.4", "architecture": "amd64", "extra": [1, 2]}),
        ({"product": "postgresql", "port": 5432}, {"name": "postgresql:5432"}),
        ({"ratio": 0.5, "flag": True}, {}),
        ({"port": Port.SSH}, {"name": Name("enum and str subclass: validated in full")}),
        ({Name("package_name"): "x"}, {Name("name"): "x"}),
    ]


@pytest.mark.parametrize("parent", [HOST, None])
def test_same_observations_as_validation(parent: CIRef | None) -> None:
    expected = [_validated("software_package", row, parent) for row in _rows()]
    built = observe_many("software_package", _rows(), parent=parent, **SHARED)
    assert built == expected
    assert [o.model_fields_set for o in built] == [o.model_fields_set for o in expected]
    assert [dump_item(o) for o in built] == [dump_item(o) for o in expected]
    assert [type(v) for o in built for v in o.identifiers.values()] == [
        type(v) for o in expected for v in o.identifiers.values()]
    if parent is not None:
        assert all(o.parent is built[0].parent for o in built)  # one shared, validated reference


def test_shared_pieces_stay_independent_on_copy() -> None:
    first, second = observe_many("software_package", _rows()[:2], parent=HOST, **SHARED)
    changed = second.model_copy(update={"attributes": {"name": "changed"}})
    assert changed.attributes == {"name": "changed"}
    assert first.model_fields_set == second.model_fields_set == _validated("software_package", _rows()[0], HOST).model_fields_set
    with pytest.raises(ValidationError):
        first.ci_class = "other"  # type: ignore[misc]  # frozen, like any Observation


BAD_ROWS: list[tuple[Any, Any]] = [
    ({"package_name": "   "}, {}),  # blank identifier
    ({}, {"name": "x"}),  # no identifier
    ({"package_name": None}, {}),
    ({"package_name": ["a"]}, {}),
    ({1: "a"}, {}),
    ({"package_name": "x"}, {1: "non-str attribute key"}),
    ({"package_name": "x"}, ["not", "a", "dict"]),
    ("not a dict", {}),
]


@pytest.mark.parametrize("bad", BAD_ROWS)
@pytest.mark.parametrize("position", [0, 2])
def test_bad_row_raises_what_validation_raises(bad: tuple[Any, Any], position: int) -> None:
    rows: list[tuple[Any, Any]] = _rows()[:3]
    rows.insert(position, bad)
    with pytest.raises(ValidationError) as expected:
        _validated("software_package", bad, HOST)
    with pytest.raises(ValidationError) as raised:
        observe_many("software_package", rows, parent=HOST, **SHARED)
    assert raised.value.errors(include_context=False) == expected.value.errors(include_context=False)
    assert {str(e["loc"][0]) for e in raised.value.errors()} <= {"identifiers", "attributes"}


@pytest.mark.parametrize(("field", "value"), [("source", ""), ("scope", ""), ("observed_at", 0), ("ci_class", "")])
def test_bad_shared_field_raises_naming_it(field: str, value: Any) -> None:
    shared = {**SHARED, field: value} if field != "ci_class" else SHARED
    ci_class = value if field == "ci_class" else "software_package"
    with pytest.raises(ValidationError) as raised:
        observe_many(ci_class, _rows(), parent=HOST, **shared)
    assert raised.value.errors()[0]["loc"][0] == ("class" if field == "ci_class" else field)


def test_same_relations_as_validation() -> None:
    interface = CIRef(ci_class="interface", identifiers={"name": "eth0"}, parent=HOST)
    ends = [(interface, CIRef(ci_class="ip_address", identifiers={"address": f"10.0.0.{i}", "network_scope": "g"}))
            for i in range(1, 4)]
    ends.append(({"class": "interface", "identifiers": {"name": "eth1"}, "parent": HOST}, ends[0][1]))  # type: ignore[arg-type]
    evidence = Evidence(method=Method.CONFIG)
    expected = [ObservedRelation.model_validate({"type": "HAS_ADDRESS", "from": a, "to": b, "evidence": evidence, **SHARED})
                for a, b in ends]
    built = relate_many("HAS_ADDRESS", ends, evidence=evidence, **SHARED)
    assert built == expected
    assert [r.model_fields_set for r in built] == [r.model_fields_set for r in expected]
    assert [dump_item(r) for r in built] == [dump_item(r) for r in expected]
    assert len({id(r.attributes) for r in built}) == len(built)  # each its own attributes


def test_bad_relation_end_raises_naming_it() -> None:
    good = CIRef(ci_class="ip_address", identifiers={"address": "10.0.0.1", "network_scope": "g"})
    bad = {"class": "interface", "identifiers": {"name": " "}}
    with pytest.raises(ValidationError) as raised:
        relate_many("HAS_ADDRESS", [(good, good), (bad, good)], evidence=Evidence(), **SHARED)  # type: ignore[list-item]
    assert raised.value.errors()[0]["loc"][:2] == ("from", "identifiers")
