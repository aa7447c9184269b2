"""merge_evidence, the function each sighting of a relationship goes through, value by value."""

from __future__ import annotations

import pytest

from cmdb.model import RelEvidence
from cmdb.reconcile import merge_evidence


def _held(method: str = "traffic", confidence: float = 0.5, first: int = 100, last: int = 200) -> RelEvidence:
    return RelEvidence(["aws"], first, last, 3, method, confidence)


@pytest.mark.parametrize("held,seen,kept", [
    ("traffic", "declared", "declared"), ("declared", "traffic", "declared"),
    ("inferred", "config", "config"), ("config", "inferred", "config"),
    ("traffic", "inferred", "traffic"), ("config", "declared", "declared"),
])
def test_the_strongest_method_is_kept(held: str, seen: str, kept: str) -> None:
    assert merge_evidence(_held(held), "aws", seen, 0.5, 150, new_run=False).method == kept


def test_declared_and_configured_edges_keep_the_highest_confidence() -> None:
    assert merge_evidence(_held("declared", 0.5), "aws", "declared", 0.9, 150, new_run=True).confidence == 0.9
    assert merge_evidence(_held("declared", 0.9), "aws", "declared", 0.5, 150, new_run=True).confidence == 0.9


def test_traffic_confidence_grows_per_run_by_noisy_or_rounded_to_six_places() -> None:
    # 1 - (1 - 0.5) * (1 - 0.3333333) = 0.66666665 -> 0.666667
    assert merge_evidence(_held("traffic", 0.5), "aws", "traffic", 0.3333333, 150, new_run=True).confidence == 0.666667
    # within one run a second sighting adds nothing but the higher value
    assert merge_evidence(_held("traffic", 0.5), "aws", "traffic", 0.3333333, 150, new_run=False).confidence == 0.5


def test_confidence_never_exceeds_one() -> None:
    assert merge_evidence(_held("declared", 0.5), "aws", "declared", 1.5, 150, new_run=False).confidence == 1.0


@pytest.mark.parametrize("observed,first,last", [(50, 50, 200), (150, 100, 200), (300, 100, 300)])
def test_first_and_last_seen_widen_to_any_sighting_delivered_out_of_order(observed: int, first: int,
                                                                           last: int) -> None:
    merged = merge_evidence(_held(), "ssh", "traffic", 0.5, observed, new_run=False)
    assert (merged.first_seen, merged.last_seen, merged.sources, merged.times_seen) == (first, last, ["aws", "ssh"], 3)


def test_times_seen_counts_runs_not_deliveries() -> None:
    assert merge_evidence(_held(), "aws", "traffic", 0.5, 150, new_run=True).times_seen == 4
    assert merge_evidence(_held(), "aws", "traffic", 0.5, 150, new_run=False).times_seen == 3


@pytest.mark.parametrize("seen,kept", [("traffic", "traffic"), ("inferred", "future")])
def test_a_held_method_this_version_does_not_know_ranks_as_inferred(seen: str, kept: str) -> None:
    """An import (cmdb/store/transfer.py) takes the method as written: one from a later version, say."""
    assert merge_evidence(_held("future"), "aws", seen, 0.5, 150, new_run=False).method == kept
