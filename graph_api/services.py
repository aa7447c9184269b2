"""The use cases one app serves, built once by ``create_app`` and shared by every request."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from cmdb.impact import ImpactService
from cmdb.ingest import Ingestor
from cmdb.job_runs import JobStatus
from cmdb.services.collect import CollectService
from cmdb.services.edits import ManualEdits
from cmdb.services.merges import Merges
from cmdb.services.reads import ReadService
from cmdb.services.topology import TopologyService
from cmdb.store.protocol import GraphStore
from cmdb.tokens import TokenService
from schema import Schema

# Runs a named discovery job, returns its run id (or job handle); injected by the CLI
# once the scheduler exists. Sync or async.
DiscoveryTrigger = Callable[[str], str | Awaitable[str]]
# Every discovery job's status (cmdb.job_runs), injected by the CLI from the jobs file.
JobStatusSource = Callable[[], list[JobStatus]]


@dataclass(slots=True)
class AppServices:
    store: GraphStore
    schema: Schema
    tokens: TokenService
    reads: ReadService
    topology: TopologyService
    edits: ManualEdits
    collect: CollectService
    merges: Merges
    impact: ImpactService | None = None
    trigger_discovery: DiscoveryTrigger | None = None
    job_status: JobStatusSource | None = None
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(
        cls,
        store: GraphStore,
        schema: Schema,
        tokens: TokenService,
        ingestor: Ingestor,
        impact: ImpactService | None,
        trigger_discovery: DiscoveryTrigger | None,
        page_cap: int,
    ) -> AppServices:
        lock = threading.Lock()
        return cls(
            store=store, schema=schema, tokens=tokens,
            reads=ReadService(store, schema, page_cap=page_cap),
            topology=TopologyService(store, schema),
            edits=ManualEdits(ingestor, schema, lock=lock),
            collect=CollectService(ingestor, lock=lock),
            merges=Merges(ingestor, lock=lock),
            impact=impact, trigger_discovery=trigger_discovery, write_lock=lock,
        )
