"""Per-request DataLoaders: every CI and neighbour list a query touches loads in batches.

Store calls are blocking, so each batch runs in a worker thread; a query that
walks 100 CIs, their neighbours and the neighbours' classes costs one call per
level, not one per CI.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(slots=True)
class Loaders:
    ci: DataLoader[str, CI | None]
    neighbours: DataLoader[NeighbourKey, list[Neighbour]]
    relationship: DataLoader[str, Relationship | None]


def build_loaders(reads: ReadService) -> Loaders:
    """Fresh loaders for one request (their caches must never outlive it)."""

    async def load_cis(uids: Sequence[str]) -> list[CI | None]:
        found = await run_blocking(reads.get_cis, list(uids))
        return [found.get(uid) for uid in uids]

    async def load_rels(uids: Sequence[str]) -> list[Relationship | None]:
        found = await run_blocking(reads.store.get_relationships, list(uids))
        return [found.get(uid) for uid in uids]

    async def load_neighbours(keys: Sequence[NeighbourKey]) -> list[list[Neighbour]]:
        groups: dict[tuple[Direction, tuple[str, ...]], list[str]] = defaultdict(list)
        for key in keys:
            groups[(key.direction, key.types)].append(key.uid)
        results: dict[NeighbourKey, list[Neighbour]] = {}
        for (direction, types), uids in groups.items():
            grouped = await run_blocking(reads.neighbours_of, uids, direction, types)
            for uid in uids:
                results[NeighbourKey(uid, direction, types)] = grouped.get(uid, [])
        return [results[key] for key in keys]

    return Loaders(
        ci=DataLoader(load_fn=load_cis, max_batch_size=2000),
        neighbours=DataLoader(load_fn=load_neighbours, max_batch_size=2000),
        relationship=DataLoader(load_fn=load_rels, max_batch_size=2000),
    )
