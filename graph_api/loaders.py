"""Per-request DataLoaders: every CI and neighbour list a query touches loads in batches.

Store calls are blocking, so each batch runs in a worker thread; a query that
walks 100 CIs, their neighbours and the neighbours' classes costs one call per
level, not one per CI.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

from strawberry.dataloader import DataLoader

from cmdb.model import CI, Relationship
from cmdb.services.reads import Neighbour, ReadService
from cmdb.store.protocol import Direction
from graph_api.blocking import run_blocking


class NeighbourKey(NamedTuple):
    uid: str
    direction: Direction
    types: tuple[str, ...]


_BATCH = 2000


class Loaders:
    """One request's loaders (their caches must never outlive it), each built on its first use
    (an impact query needs none of them)."""

    __slots__ = ("_ci", "_neighbours", "_reads", "_relationship")

    def __init__(self, reads: ReadService) -> None:
        self._reads = reads
        self._ci: DataLoader[str, CI | None] | None = None
        self._neighbours: DataLoader[NeighbourKey, list[Neighbour]] | None = None
        self._relationship: DataLoader[str, Relationship | None] | None = None

    @property
    def ci(self) -> DataLoader[str, CI | None]:
        if self._ci is None:
            self._ci = DataLoader(load_fn=partial(_load_cis, self._reads), max_batch_size=_BATCH)
        return self._ci

    @property
    def neighbours(self) -> DataLoader[NeighbourKey, list[Neighbour]]:
        if self._neighbours is None:
            self._neighbours = DataLoader(load_fn=partial(_load_neighbours, self._reads), max_batch_size=_BATCH)
        return self._neighbours

    @property
    def relationship(self) -> DataLoader[str, Relationship | None]:
        if self._relationship is None:
            self._relationship = DataLoader(load_fn=partial(_load_rels, self._reads), max_batch_size=_BATCH)
        return self._relationship


async def _load_cis(reads: ReadService, uids: Sequence[str]) -> list[CI | None]:
    found = await run_blocking(reads.get_cis, list(uids))
    return [found.get(uid) for uid in uids]


async def _load_rels(reads: ReadService, uids: Sequence[str]) -> list[Relationship | None]:
    found = await run_blocking(reads.store.get_relationships, list(uids))
    return [found.get(uid) for uid in uids]


async def _load_neighbours(reads: ReadService, keys: Sequence[NeighbourKey]) -> list[list[Neighbour]]:
    groups: dict[tuple[Direction, tuple[str, ...]], list[str]] = defaultdict(list)
    for key in keys:
        groups[(key.direction, key.types)].append(key.uid)
    results: dict[NeighbourKey, list[Neighbour]] = {}
    for (direction, types), uids in groups.items():
        grouped = await run_blocking(reads.neighbours_of, uids, direction, types)
        for uid in uids:
            results[NeighbourKey(uid, direction, types)] = grouped.get(uid, [])
    return [results[key] for key in keys]
