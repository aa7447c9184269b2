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
    return isinstance(value, (str, int)) and not isinstance(value, bool)


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

    def find(self, ci_class: str, identifiers: dict[str, Any], parent_uid: str | None, dependent: bool) -> str | None:
        family = FAMILY.get(ci_class)
        ordered = sorted(identifiers.items(), key=lambda kv: STRENGTH.index(kv[0]) if kv[0] in STRENGTH else 99)

        def fits(uid: str) -> bool:
            ci = self.cis[uid]
            return FAMILY.get(ci.ci_class) == family and (not dependent or ci.parent_uid == parent_uid)

        for attr, value in ordered:
            found = sorted(u for u in self.by_value.get((attr, norm(value)), ()) if fits(u))
            if len(found) == 1:
                return found[0]
            if found:  # narrow by the other values sent
                best = max(found, key=lambda u: sum(1 for a, v in identifiers.items()
                                                    if u in self.by_value.get((a, norm(v)), ())))
                return best
        if family == "device":  # a name sent under one attribute may be held under another
            for attr, value in ordered:
                if attr not in NAMES:
                    continue
                found = sorted(u for other in NAMES for u in self.by_value.get((other, norm(value)), ()) if fits(u))
                if found:
                    return found[0]
        return None


class Landing:
    """Resolves observations of one run to CI uids."""

    def __init__(self, sighted: Finder, everywhere: Finder, dependent: set[str]) -> None:
        self.sighted = sighted
        self.everywhere = everywhere
        self.dependent = dependent
        self.memo: dict[int, str | None] = {}

    def ref(self, ref: CIRef) -> str | None:
        key = id(ref)
        if key not in self.memo:
            parent = self.ref(ref.parent) if ref.parent is not None else None
            dep = ref.ci_class in self.dependent
            if dep and parent is None:
                self.memo[key] = None
            else:
                self.memo[key] = (self.sighted.find(ref.ci_class, ref.identifiers, parent, dep)
                                  or self.everywhere.find(ref.ci_class, ref.identifiers, parent, dep))
        return self.memo[key]

    def observation(self, obs: Observation) -> str | None:
        parent = self.ref(obs.parent) if obs.parent is not None else None
        dep = obs.ci_class in self.dependent
        if dep and parent is None:
            return None
        return self.sighted.find(obs.ci_class, obs.identifiers, parent, dep)
