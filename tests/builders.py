"""Builders for observations, relations and stores used across the test suite."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cmdb.ingest import Ingestor, IngestReport
from cmdb.model import ScanRun
from cmdb.observation import CIRef, Evidence, Item, Method, Observation, ObservedRelation
from cmdb.store.protocol import GraphStore
from cmdb.store.sqlite import SQLiteStore
from schema import Schema, load_schema

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000


class Clock:
    """A settable clock in epoch ms (the ingest pipeline takes its time from here)."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def ref(cls: str, parent: CIRef | None = None, **ids: Any) -> CIRef:
    return CIRef(ci_class=cls, identifiers=ids, parent=parent)


def obs(cls: str, ids: dict[str, Any], attrs: dict[str, Any] | None = None, *, source: str = "aws",
        scope: str = "s1", at: int = T0, parent: CIRef | None = None) -> Observation:
    return Observation(source=source, scope=scope, ci_class=cls, identifiers=ids, attributes=attrs or {},
                       parent=parent, observed_at=at)


def rel(rel_type: str, a: CIRef, b: CIRef, *, source: str = "aws", scope: str = "s1", at: int = T0,
        method: Method = Method.DECLARED, confidence: float = 1.0, attrs: dict[str, Any] | None = None) -> ObservedRelation:
    return ObservedRelation(source=source, scope=scope, type=rel_type, from_ci=a, to_ci=b, attributes=attrs or {},
                            evidence=Evidence(method=method, confidence=confidence), observed_at=at)


class Harness:
    """A real store (SQLite unless ``store`` is given) with an Ingestor on a settable clock."""

    def __init__(self, path: Path, schema: Schema | None = None, batch_size: int = 2000,
                 store: GraphStore | None = None) -> None:
        self.schema = schema or load_schema()
        self.clock = Clock()
        self.store: GraphStore = store if store is not None else SQLiteStore(path, self.schema)
        self.ingestor = Ingestor(self.store, self.schema, clock=self.clock, batch_size=batch_size)

    @property
    def sqlite(self) -> SQLiteStore:
        """The store as SQLite, for a test of SQLite's own surface (its file, its change feed)."""
        assert isinstance(self.store, SQLiteStore), "this test needs the SQLite store"
        return self.store

    def run(self, items: Iterable[Item | dict[str, Any]], source: str = "aws", scope: str = "s1",
            complete: bool = True) -> tuple[ScanRun, IngestReport]:
        with self.ingestor.run(source, scope) as run:
            report = run.ingest(items)
            if not complete:
                run.incomplete("test: incomplete run")
        assert run.finished is not None
        return run.finished, report

    def all_cis(self) -> list[Any]:
        return [ci for batch in self.store.iter_cis() for ci in batch]

    def all_rels(self) -> list[Any]:
        return [r for batch in self.store.iter_relationships() for r in batch]

    def all_history(self) -> list[Any]:
        return [h for batch in self.store.iter_history() for h in batch]

    def find(self, cls: str, **attrs: Any) -> Any:
        matches = [c for c in self.all_cis() if self.schema.is_a(c.ci_class, cls)
                   and all(c.attributes.get(k) == v for k, v in attrs.items())]
        assert len(matches) == 1, f"expected one {cls} with {attrs}, found {len(matches)}"
        return matches[0]
