"""Indexes and uniqueness constraints, derived from ``schema/``, in each engine's DDL.

This is the one place the two engines differ: Neo4j 5 takes named
``CREATE ... IF NOT EXISTS`` statements; FalkorDB takes ``CREATE INDEX FOR (n:L)
ON (n.p)`` (an error if it exists) and unique constraints through the
``GRAPH.CONSTRAINT`` command, which needs the index first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cmdb.store.cypher import change_log_statements as change_log
from cmdb.store.cypher.statements import (
    CI_LABEL,
    COUNTER_LABEL,
    HISTORY_LABEL,
    KEY_LABEL,
    RUN_LABEL,
    SIGHTING_LABEL,
    TOPOLOGY,
    part_of,
    quote,
)
from schema import Schema


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """A range index on one property of a node label or relationship type."""

    label: str
    prop: str
    relationship: bool = False
    unique: bool = False

    @property
    def part(self) -> str:
        """The part of the store it belongs to (FalkorDB: the graph that gets it)."""
        return TOPOLOGY if self.relationship else part_of(self.label)

    @property
    def name(self) -> str:
        kind = "rel" if self.relationship else "node"
        suffix = "uniq" if self.unique else "idx"
        return f"cmdb_{kind}_{self.label}_{self.prop}_{suffix}".lower()


def index_specs(schema: Schema) -> list[IndexSpec]:
    """Every index and uniqueness constraint the Cypher store relies on."""
    specs = [
        IndexSpec(CI_LABEL, "uid", unique=True),
        IndexSpec(CI_LABEL, "ci_class"),
        IndexSpec(CI_LABEL, "name"),
        IndexSpec(KEY_LABEL, "key"),
        # Not a uniqueness constraint: seq comes from the counter node, updated in the
        # same transaction (a write lock on Neo4j, one writer at a time on FalkorDB),
        # and FalkorDB's constraint check made a history append 4x dearer.
        IndexSpec(HISTORY_LABEL, "seq"),
        IndexSpec(HISTORY_LABEL, "subject_uid"),
        IndexSpec(SIGHTING_LABEL, "sid", unique=True),
        IndexSpec(SIGHTING_LABEL, "skey"),
        IndexSpec(SIGHTING_LABEL, "subject_uid"),
        IndexSpec(RUN_LABEL, "run_id", unique=True),
        IndexSpec(COUNTER_LABEL, "name", unique=True),
        # The change log (change_log.py): one head node, entries read by position and pruned by time.
        IndexSpec(change_log.HEAD_LABEL, "name", unique=True),
        IndexSpec(change_log.ENTRY_LABEL, "position"),
        IndexSpec(change_log.ENTRY_LABEL, "at"),
    ]
    indexed = sorted({a.name for c in schema.classes.values() for a in c.attributes.values() if a.indexed})
    specs.extend(IndexSpec(CI_LABEL, name) for name in indexed if name != "name")
    # No index on relationship uids: every lookup by uid of the ``src:TYPE:dst`` form
    # (all the ingest makes) goes through the CI uid index; the index cost a third of
    # the server's work per relationship written on FalkorDB.
    return specs


# What Neo4j's ``ensure_schema`` reads besides the DDL: the index and constraint names that
# exist (constraints own an index of the same name), and the wait until every index is online.
NEO4J_SHOW_INDEXES = "SHOW INDEXES YIELD name RETURN name"
NEO4J_AWAIT_INDEXES = "CALL db.awaitIndexes(300)"


def neo4j_ddl(schema: Schema) -> list[str]:
    """Neo4j 5 statements for the schema, idempotent by ``IF NOT EXISTS``."""
    return neo4j_ddl_for(index_specs(schema))


def neo4j_ddl_for(specs: Sequence[IndexSpec]) -> list[str]:
    statements: list[str] = []
    for spec in specs:
        prop = quote(spec.prop)
        if spec.unique and not spec.relationship:
            statements.append(
                f"CREATE CONSTRAINT {spec.name} IF NOT EXISTS FOR (n:{spec.label}) REQUIRE n.{prop} IS UNIQUE"
            )
        elif spec.relationship:
            statements.append(f"CREATE INDEX {spec.name} IF NOT EXISTS FOR ()-[r:{spec.label}]-() ON (r.{prop})")
        else:
            statements.append(f"CREATE INDEX {spec.name} IF NOT EXISTS FOR (n:{spec.label}) ON (n.{prop})")
    return statements


def falkordb_index(spec: IndexSpec) -> str:
    """FalkorDB's index statement for one spec (not idempotent: check first)."""
    prop = quote(spec.prop)
    if spec.relationship:
        return f"CREATE INDEX FOR ()-[r:{spec.label}]-() ON (r.{prop})"
    return f"CREATE INDEX FOR (n:{spec.label}) ON (n.{prop})"
