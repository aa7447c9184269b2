"""Scoring one round: CIs against real things, relationships against the ones the sources stated.

``holds[ci]``: the real things whose observations ever landed on the CI.
``cis_of[thing]``: the CIs its observations ever landed on. From these:

- CI recall: share of existing, once-observed things that have a live CI holding
  only them;
- CI precision: share of live CIs (holding an existing thing) that hold exactly
  one thing and are that thing's only or oldest live CI;
- duplicates: existing things with more than one live CI; *flagged* when every
  CI but the oldest is marked a duplicate of (or merged into) another;
- CIs holding two things: live CIs whose observations came from two real things;
- wrong retirements: existing things whose every CI is retired;
- missed retirements: live CIs holding only things gone for ``DUE`` rounds or more.

A live CI is one neither retired nor merged into another.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from cmdb.model import CI, Lifecycle, Relationship

DUE = 5  # rounds after its end by which a thing's CIs must be retired (4 missed complete runs, 1 to spare)


@dataclass
class RoundScore:
    round: int
    things: int = 0
    cis: int = 0
    recall: float = 1.0
    precision: float = 1.0
    duplicates: int = 0
    unflagged: int = 0
    two_things: int = 0
    rel_recall: float = 1.0
    rel_precision: float = 1.0
    wrong_retired: int = 0
    missed_retired: int = 0
    unmapped: int = 0  # observations the ground truth cannot name (a harness bug if not 0)
    unplaced: int = 0  # observations found on no CI their run sighted (rejected ones included)
    unaccounted: int = 0  # CIs a run sighted that none of its observations was found on
    rejected: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)
    bad: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # problem -> things with it

    def note(self, kind: str, text: str) -> None:
        self.examples.setdefault(kind, [])
        if len(self.examples[kind]) < 3:
            self.examples[kind].append(text)


def merged_into(ci: CI) -> Any:
    """The CI this one was merged into: said so, or retired as a duplicate of another (a merge's trace)."""
    said = getattr(ci, "merged_into", None) or ci.attributes.get("merged_into")
    return said or (ci.duplicate_of if ci.status is Lifecycle.RETIRED else None)


def follow_merges(ledger: Ledger, cis: dict[str, CI]) -> Ledger:
    """The ledger as the CMDB now stands: what a merged CI held, its survivor holds."""
    def final(uid: str) -> str:
        seen = {uid}
        while (ci := cis.get(uid)) is not None and (target := merged_into(ci)) and target not in seen:
            seen.add(target)
            uid = target
        return uid

    out = Ledger(relations=ledger.relations)
    for uid, held in ledger.holds.items():
        for tid in held:
            out.land(final(uid), tid)
    return out


def is_live(ci: CI | None) -> bool:
    return ci is not None and ci.status is not Lifecycle.RETIRED and not merged_into(ci)


def _retired(ci: CI | None) -> bool:
    return ci is not None and ci.status is Lifecycle.RETIRED and not merged_into(ci)


@dataclass
class Ledger:
    """What the harness learnt so far: which things landed on which CIs, and the stated relationships."""

    holds: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    cis_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    relations: set[tuple[str, str, str]] = field(default_factory=set)

    def land(self, uid: str, tid: str) -> None:
        self.holds[uid].add(tid)
        self.cis_of[tid].add(uid)


def score_round(rnd: int, ledger: Ledger, cis: dict[str, CI], rels: list[Relationship],
                alive: dict[str, bool], died: dict[str, int | None], label: dict[str, str]) -> RoundScore:
    """``alive``: every thing ever observed -> exists this round; ``died``: the round it ended."""
    score = RoundScore(rnd)
    ledger = follow_merges(ledger, cis)
    existing = {t for t, a in alive.items() if a}

    def live_cis(tid: str) -> list[str]:
        return sorted((u for u in ledger.cis_of.get(tid, ()) if is_live(cis.get(u))),
                      key=lambda u: (cis[u].created_at, u))

    primary: dict[str, str] = {}
    recalled = 0
    for tid in existing:
        mine = live_cis(tid)
        if mine:
            primary[tid] = mine[0]
        if any(ledger.holds[u] == {tid} for u in mine):
            recalled += 1
        else:
            score.bad["no CI of its own"].add(tid)
            score.note("no CI of its own", f"{label.get(tid, tid)}: its CIs hold "
                                            f"{[sorted(label.get(t, t) for t in ledger.holds[u]) for u in mine]}")
        if len(mine) > 1:
            score.duplicates += 1
            extra = mine[1:]
            flagged = all(cis[u].duplicate_of in mine for u in extra)
            if not flagged:
                score.unflagged += 1
                score.bad["unflagged duplicate"].add(tid)
                score.note("duplicate", f"{label.get(tid, tid)}: {[cis[u].ci_class for u in mine]}")
        if not mine and any(_retired(cis.get(u)) for u in ledger.cis_of.get(tid, ())):
            score.wrong_retired += 1
            score.bad["wrongly retired"].add(tid)
            score.note("wrong retirement", label.get(tid, tid))
    score.things = len(existing)
    score.recall = recalled / len(existing) if existing else 1.0

    live = [u for u, ci in cis.items() if is_live(ci) and ledger.holds.get(u, set()) & existing]
    correct = 0
    for uid in live:
        held = ledger.holds[uid]
        if len(held) > 1:
            score.two_things += 1
            score.bad["shares a CI"].update(held)
            score.note("two things", f"{cis[uid].ci_class} {cis[uid].name}: {sorted(label.get(t, t) for t in held)}")
        elif primary.get(next(iter(held))) == uid:
            correct += 1
    score.cis = len(live)
    score.precision = correct / len(live) if live else 1.0

    for uid, ci in cis.items():
        if not is_live(ci):
            continue
        held = ledger.holds.get(uid, set())
        if held and not held & existing and all((died.get(t) or rnd + 1) <= rnd - DUE for t in held):
            score.missed_retired += 1
            score.bad["not retired"].update(held)
            score.note("missed retirement", f"{ci.ci_class} {ci.name}")

    # Relationships, both ends in thing space.
    stated = {r for r in ledger.relations if r[1] in existing and r[2] in existing}
    index: set[tuple[str, str, str]] = set()
    checked = correct_rels = 0
    for rel in rels:
        if rel.status is Lifecycle.RETIRED or not is_live(cis.get(rel.source_uid)) or not is_live(cis.get(rel.target_uid)):
            continue
        index.add((rel.type, rel.source_uid, rel.target_uid))
        a, b = ledger.holds.get(rel.source_uid, set()), ledger.holds.get(rel.target_uid, set())
        if not a or not b or not (a & existing) or not (b & existing):
            continue  # an end the harness does not model, or one waiting to retire
        checked += 1
        if len(a) == 1 and len(b) == 1 and (rel.type, next(iter(a)), next(iter(b))) in stated:
            correct_rels += 1
        else:
            score.note("wrong relationship", f"{rel.type} {sorted(label.get(t, t) for t in a)} -> "
                                              f"{sorted(label.get(t, t) for t in b)}")
    found = 0
    for rtype, one, other in stated:
        if any((rtype, x, y) in index for x in live_cis(one) for y in live_cis(other)):
            found += 1
        else:
            score.note("missed relationship", f"{rtype} {label.get(one, one)} -> {label.get(other, other)}")
    score.rel_recall = found / len(stated) if stated else 1.0
    score.rel_precision = correct_rels / checked if checked else 1.0
    return score
