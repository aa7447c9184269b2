"""Where each observation landed: the CI the engine put it on, read back from the store.

The engine is asked nothing: after a round, the harness reads the CIs (public
``GraphStore`` iteration), which CIs each run sighted (the sightings carry the
run id) and every value a CI held during the round (history entries, caught by
an ingest listener). An observation landed on the CI among those its run sighted
that holds the identifying values it sent, strongest identifier first; a
dependent observation only on a CI inside the CI its parent landed on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from bench.fidelity.units import FAMILY, norm
from cmdb.model import CI, ChangeSet
from cmdb.observation import CIRef, Observation

# The oracle's own order: identifiers that never move first, then names, then locators.
STRENGTH = ("serial_number", "machine_id", "instance_id", "chassis_id", "zone_id", "subnet_id", "network_id",
            "account_id", "record_name", "mount_point", "package_name", "product", "fqdn", "sys_name", "zone_name",
            "address", "cidr", "name", "region", "if_index")
NAMES = ("fqdn", "sys_name", "hostname", "name")
Values = dict[tuple[str, str], set[str]]


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


class ValueLog:
    """Every identifying value each CI held during the current round (from history), by listener."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def __call__(self, changes: ChangeSet) -> None:
        for entry in changes.history:
            if entry.subject_kind != "ci":
                continue
            held = self.values[entry.subject_uid]
            for attr, pair in entry.changes.items():
                for value in pair or ():
                    if _scalar(value):
                        held[attr].add(norm(value))

    def clear(self) -> None:
        self.values.clear()


class Finder:
    """Looks observations up among a set of CIs by the values they hold."""

    def __init__(self, cis: dict[str, CI], uids: Iterable[str], log: ValueLog) -> None:
        self.cis = cis
        self.by_value: Values = defaultdict(set)
        for uid in uids:
            ci = cis.get(uid)
            if ci is None:
                continue
            for attr, value in ci.attributes.items():
                if _scalar(value):
                    self.by_value[(attr, norm(value))].add(uid)
            for attr, held in log.values.get(uid, {}).items():
                for value in held:
                    self.by_value[(attr, value)].add(uid)

    def candidates(self, ci_class: str, identifiers: dict[str, Any], parents: set[str] | None) -> list[str]:
        """CIs of the family (inside one of ``parents`` when given) holding the strongest value sent that any holds."""
        family = FAMILY.get(ci_class)
        ordered = sorted(identifiers.items(), key=lambda kv: STRENGTH.index(kv[0]) if kv[0] in STRENGTH else 99)

        def fits(uid: str) -> bool:
            ci = self.cis[uid]
            return FAMILY.get(ci.ci_class) == family and (parents is None or ci.parent_uid in parents)

        for attr, value in ordered:
            found = sorted(u for u in self.by_value.get((attr, norm(value)), ()) if fits(u))
            if found:
                return found
        if family == "device":  # a name sent under one attribute may be held under another
            for attr, value in ordered:
                if attr in NAMES:
                    found = sorted({u for other in NAMES for u in self.by_value.get((other, norm(value)), ()) if fits(u)})
                    if found:
                        return found
        return []

    def ranked(self, ci_class: str, identifiers: dict[str, Any], parents: set[str] | None) -> list[str]:
        """The candidates holding the most of the values sent, best first; several when they tie."""
        found = self.candidates(ci_class, identifiers, parents)
        if len(found) <= 1:
            return found
        score = {u: sum(1 for a, v in identifiers.items() if u in self.by_value.get((a, norm(v)), ())) for u in found}
        best = max(score.values())
        return [u for u in found if score[u] == best]


class Landing:
    """Resolves observations of one run to CI uids."""

    def __init__(self, sighted: Finder, everywhere: Finder, dependent: set[str]) -> None:
        self.sighted = sighted
        self.everywhere = everywhere
        self.dependent = dependent
        self.memo: dict[int, set[str]] = {}

    def parents(self, ref: CIRef) -> set[str]:
        """Every CI a reference may stand for: the engine's choice among same-valued CIs is not the oracle's to guess."""
        key = id(ref)
        if key not in self.memo:
            outer = self.parents(ref.parent) if ref.parent is not None else None
            if ref.ci_class in self.dependent and not outer:
                self.memo[key] = set()
            else:
                scope = outer if ref.ci_class in self.dependent else None
                self.memo[key] = set(self.sighted.candidates(ref.ci_class, ref.identifiers, scope)) | set(
                    self.everywhere.candidates(ref.ci_class, ref.identifiers, scope))
        return self.memo[key]

    def options(self, obs: Observation) -> list[str]:
        """The CIs the observation may have landed on: one, or several the oracle cannot tell apart."""
        parents: set[str] | None = None
        if obs.ci_class in self.dependent:
            parents = self.parents(obs.parent) if obs.parent is not None else set()
            if not parents:
                return []
        found = self.sighted.ranked(obs.ci_class, obs.identifiers, parents)
        if not found:
            # An identifying value the CI never took (another value of the same source won: a merge)
            # leaves the other identifying attributes the observation sent.
            extra = {k: v for k, v in obs.attributes.items() if k in STRENGTH and k not in obs.identifiers}
            if extra:
                found = self.sighted.ranked(obs.ci_class, extra, parents)
        return found


def place(options: list[list[str]]) -> list[str | None]:
    """One CI per observation. Where values tie, the sightings decide: every CI the run sighted
    received at least one of its observations, so a tied observation goes to a candidate that
    nothing else explains, if there is one."""
    chosen: list[str | None] = [opts[0] if len(opts) == 1 else None for opts in options]
    accounted = {uid for uid in chosen if uid is not None}
    for i, opts in enumerate(options):
        if len(opts) > 1:
            free = [u for u in opts if u not in accounted]
            pick = free[0] if free else opts[0]
            chosen[i] = pick
            accounted.add(pick)
    return chosen
