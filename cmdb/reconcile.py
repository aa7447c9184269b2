"""Reconciliation: which source's value an attribute keeps, and how evidence accumulates.

Precedence is a total order on candidate values, so the result does not depend
on the order sources report in: a value ranks by (fresh, source priority,
first-hand, observed_at, source name, value), where *fresh* means observed within its
source's staleness window of now, and the value itself (canonical JSON) breaks
the last tie: one source reporting two values at the same instant. So a lower-priority source overwrites a higher one's
value only once that value has gone stale, and stale data never overwrites fresh
data. A null never overwrites anything (nulls are dropped before this point).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from cmdb.model import CI, Provenance, RelEvidence
from schema import Schema

_DAY_MS = 86_400_000
_METHOD_RANK = {"declared": 3, "config": 2, "traffic": 1, "inferred": 0}
_ACCUMULATING = {"traffic", "inferred"}


class Precedence:
    """Ranks attribute values by source priority and staleness at a fixed ``now``."""

    def __init__(self, schema: Schema, now: int) -> None:
        self._now = now
        self._priority = {name: s.priority for name, s in schema.sources.items()}
        self._window = {name: int(s.staleness_days * _DAY_MS) for name, s in schema.sources.items()}

    def rank(self, source: str, observed_at: int, hearsay: bool = False) -> tuple[bool, int, bool, int, str]:
        """(fresh, priority, first-hand, observed_at, source): hearsay ranks below first-hand data of its source."""
        fresh = self._now - observed_at <= self._window.get(source, 0)
        return (fresh, self._priority.get(source, 0), not hearsay, observed_at, source)


def merge_attributes(
    ci: CI, incoming: Mapping[str, Any], source: str, observed_at: int, precedence: Precedence,
    hearsay: bool = False,
) -> tuple[dict[str, list[Any]], bool]:
    """Apply ``incoming`` onto ``ci`` in place.

    Returns the value changes as {attr: [before, after]}, and whether any
    provenance moved: it moves forward even when the value is unchanged (the
    source saw it again), which keeps the value fresh without recording a change.
    """
    changes: dict[str, list[Any]] = {}
    moved = False
    candidate = precedence.rank(source, observed_at, hearsay)
    for name, value in incoming.items():
        current = ci.provenance.get(name)
        before = ci.attributes.get(name)
        if current is not None:
            held: Any
            new: Any
            if current.source == source and current.hearsay is hearsay:
                # The usual case, a source seeing its own value again: both ranks share
                # priority and staleness window, and freshness only grows with the
                # observation time, so the ranks compare as the observation times do.
                held, new = current.observed_at, observed_at
            else:
                held, new = precedence.rank(current.source, current.observed_at, current.hearsay), candidate
            if held > new or (held == new and before != value and _canon(before) > _canon(value)):
                continue
        if before != value:
            changes[name] = [before, value]
            ci.attributes[name] = value
        if (current is None or current.source != source or current.observed_at != observed_at
                or current.hearsay is not hearsay):
            ci.provenance[name] = Provenance(source, observed_at, hearsay) if hearsay else Provenance(source, observed_at)
            moved = True
    return changes, moved


def _canon(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def merge_evidence(
    evidence: RelEvidence, source: str, method: str, confidence: float, observed_at: int, new_run: bool
) -> RelEvidence:
    """Accumulate one sighting into a relationship's evidence.

    ``times_seen`` counts runs, not deliveries, so re-ingesting a batch in the same
    run changes nothing. Traffic-inferred confidence grows with each run that sees
    the edge (noisy-or of the per-sighting confidence); declared and configured
    edges keep the highest confidence reported.
    """
    sources = evidence.sources if source in evidence.sources else sorted([*evidence.sources, source])
    held = evidence.method
    strongest = held if method == held or _METHOD_RANK.get(method, 0) <= _METHOD_RANK.get(held, 0) else method
    # Conditional expressions rather than min() and max(), whose calls cost more than
    # the rest of this function (once per relationship per batch); each keeps the held
    # value on a tie, as min() and max() keep their first argument.
    held_conf = evidence.confidence
    if new_run and strongest in _ACCUMULATING:
        merged_conf = 1.0 - (1.0 - held_conf) * (1.0 - confidence)
    else:
        merged_conf = confidence if confidence > held_conf else held_conf
    if merged_conf > 1.0:
        merged_conf = 1.0
    if merged_conf != 1.0 or type(merged_conf) is not float:  # 1.0 (declared edges) is its own rounding; round() is slow
        merged_conf = round(merged_conf, 6)
    first_seen, last_seen = evidence.first_seen, evidence.last_seen
    return RelEvidence(  # positional: once per relationship per batch
        sources, observed_at if observed_at < first_seen else first_seen,
        observed_at if observed_at > last_seen else last_seen, evidence.times_seen + (1 if new_run else 0),
        strongest, merged_conf,
    )
