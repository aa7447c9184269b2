"""Runs the rounds: churn, the four sources in random order through the real ingest, then the score."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.fidelity import aws_source, sample_source, snmp_source, ssh_source, vsphere_source
from bench.fidelity.churn import apply_round
from bench.fidelity.landing import Finder, Landing, ValueLog, place
from bench.fidelity.score import Ledger, RoundScore, score_round
from bench.fidelity.truth import Estate
from bench.fidelity.units import Run
from cmdb.ingest import Ingestor
from cmdb.model import CI
from cmdb.observation import Observation
from cmdb.store.sqlite import SQLiteStore
from discovery.base import ScopeResult
from discovery.runner import ingest_scope
from schema import load_schema

DAY_MS = 86_400_000
EPOCH_MS = 1_780_000_000_000  # a fixed start: the run is reproducible
SOURCES: dict[str, Callable[[Estate, int, Callable[[], int]], list[Run]]] = {
    "ssh": ssh_source.runs, "snmp": snmp_source.runs, "aws": aws_source.runs, "sample": sample_source.runs,
    "vsphere": vsphere_source.runs,
}


class Harness:
    """One estate, one fresh SQLite store, rounds played one by one."""

    def __init__(self, seed: int = 17, scale: float = 1.0, path: Path | None = None,
                 estate: Estate | None = None) -> None:
        self.estate = estate or Estate(seed, scale)
        self.rng = random.Random(seed * 7919 + 1)
        self.schema = load_schema()
        self.path = path or Path(tempfile.mkdtemp(prefix="fidelity-")) / "cmdb.sqlite"
        self.store = SQLiteStore(self.path, self.schema)
        self.now = EPOCH_MS
        self.log = ValueLog()
        self.ingestor = Ingestor(self.store, self.schema, clock=lambda: self.now, listeners=[self.log])
        self.ledger = Ledger()
        self.observed: set[str] = set()
        # Per real thing, every (source, class, identifiers) that denoted it: what each scanner calls it.
        self.denotes: dict[str, set[tuple[str, str, tuple[tuple[str, str], ...]]]] = {}
        self.dependent = {name for name, cls in self.schema.classes.items() if cls.dependency is not None}
        self.order: list[list[str]] = []
        self.rejected = 0
        self.case_problems: dict[str, dict[str, set[str]]] = {}  # case -> problem -> things that had it

    def close(self) -> None:
        self.store.close()

    def tick(self) -> int:
        """The time now, one second later than the last time asked (observations, ingest clock)."""
        self.now += 1_000
        return self.now

    def play(self, rnd: int) -> RoundScore:
        """Churn (from round 2), every source's runs in a random source order, then the score."""
        if rnd > 1:
            apply_round(self.estate, rnd)
        self.begin(rnd)
        order = list(SOURCES)
        self.rng.shuffle(order)
        self.order.append(order)
        played = [self.execute(run) for source in order for run in SOURCES[source](self.estate, rnd, self.tick)]
        score = self.land(rnd, played)
        for case in self.estate.cases:
            tids = self.estate.clean(case)
            for problem, bad in score.bad.items():
                self.case_problems.setdefault(case, {}).setdefault(problem, set()).update(tids & bad)
        return score

    def begin(self, rnd: int) -> None:
        self.log.clear()
        self.rejected = 0
        self.now = EPOCH_MS + rnd * DAY_MS

    def execute(self, run: Run) -> tuple[Run, str]:
        """Ingest one run as the scan runner does (``discovery.runner.ingest_scope``), with everything the
        scanner's ScopeResult said: an SSH inventory's parts (a host no longer listed ages) and silence."""
        result = ScopeResult(scope=run.scope, items=run.items, complete=run.complete, errors=run.errors,
                             parts=run.parts, silent=run.silent)
        scan_run, report = ingest_scope(self.ingestor, run.source, result)
        self.rejected += len(report.rejected)
        return run, scan_run.run_id

    def land(self, rnd: int, played: list[tuple[Run, str]]) -> RoundScore:
        """Map this round's observations onto the CIs they landed on, then score."""
        cis: dict[str, CI] = {ci.uid: ci for page in self.store.iter_cis() for ci in page}
        run_ids = {run_id for _, run_id in played}
        sighted: dict[str, set[str]] = {}
        for page in self.store.iter_sightings():
            for sighting, _missed in page:
                if sighting.run_id in run_ids and sighting.subject_kind == "ci":
                    sighted.setdefault(sighting.run_id, set()).add(sighting.subject_uid)
        everywhere = Finder(cis, cis.keys(), self.log)
        unmapped = unplaced = unaccounted = 0
        for run, run_id in played:
            landing = Landing(Finder(cis, sighted.get(run_id, ()), self.log), everywhere, self.dependent)
            unmapped += run.unmapped
            placed: set[str] = set()
            observations = [(item, tid) for item, tid in zip(run.items, run.things, strict=True)
                            if isinstance(item, Observation) and tid is not None]
            for (item, tid), uid in zip(observations, place([landing.options(o) for o, _ in observations]),
                                        strict=True):
                self.observed.add(tid)
                self.denotes.setdefault(tid, set()).add(
                    (run.source, item.ci_class, tuple(sorted((k, str(v)) for k, v in item.identifiers.items()))))
                if uid is None:
                    unplaced += 1  # rejected by the ingest, or landed where the oracle cannot tell
                else:
                    placed.add(uid)
                    self.ledger.land(uid, tid)
            # The oracle's self-check: every CI a run sighted got at least one of its observations.
            unaccounted += len(sighted.get(run_id, set()) - placed)
            self.ledger.relations |= run.relations
        things = self.estate.things
        alive = {t: things[t].alive(rnd) for t in self.observed}
        died = {t: things[t].died for t in self.observed}
        rels = [r for page in self.store.iter_relationships() for r in page]
        score = score_round(rnd, self.ledger, cis, rels, alive, died, self.labels())
        score.unmapped, score.unplaced, score.unaccounted = unmapped, unplaced, unaccounted
        score.rejected = self.rejected
        return score

    def labels(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for host in self.estate.hosts.values():
            out[host.tid] = f"{host.kind} {host.fqdn} ({host.site}, {host.tid})"
            who = f"{host.short}@{host.site}"
            for iface in host.ifaces:
                out[iface.tid] = f"{who}:{iface.name}"
                for addr in iface.addrs:
                    out.setdefault(addr.tid, f"{addr.address} of {who}")
            for svc in host.services:
                out[svc.tid] = f"{who}:{svc.product}"
            for child in host.filesystems + host.packages:
                out[child.tid] = f"{who}:{child.name}"
            for iface in host.ifaces[1:]:
                for addr in iface.addrs:
                    out.setdefault(addr.subnet, f"{iface.name} network of {who}")
        for dev in self.estate.devices.values():
            out[dev.tid] = f"{dev.kind} {dev.sysname} ({dev.tid})"
            for port in dev.ports:
                out[port.tid] = f"{dev.sysname.split('.')[0]}:{port.name}"
        for zone in self.estate.zones.values():
            out[zone.tid] = f"zone {zone.name} {'private' if zone.private else 'public'} {zone.account}"
            for tid, name, rtype, _value in zone.records:
                out[tid] = f"{rtype} {name} in {zone.zone_id}"
        return out
