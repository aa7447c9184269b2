"""ImpactService remembers group arithmetic per view: answers equal a fresh service's, on every view."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdb.impact import ImpactRequest, ImpactService
from cmdb.store.protocol import EdgeRow, NodeRow
from schema import load_schema
from tests.unit.impact.impact_graphs import Graph, as_changeset, three_tier_graph
from tests.unit.impact.test_properties import graphs, pick

SCHEMA = load_schema()


def _answer(service: ImpactService, *uids: str, **kw: object) -> list[tuple[object, ...]]:
    report = service.impact(ImpactRequest(uids, **kw))  # type: ignore[arg-type]
    return [(c.uid, c.grade, c.depth, c.explanation, c.redundancy) for c in report.impacted]


def test_group_arithmetic_follows_each_applied_change() -> None:
    index = three_tier_graph().index()
    service = ImpactService(index, SCHEMA)
    assert dict((u, why) for u, _, _, why, _ in _answer(service, "web1"))["pool"] == "2 of 3 up, min_up 2 -> degraded"
    index.apply(as_changeset(
        [NodeRow("web4", "virtual_machine", "active", "web4", None, None)],
        [EdgeRow("pool", "HAS_MEMBER", "web4", "declared", 1.0, "active")],
    ))
    assert dict((u, why) for u, _, _, why, _ in _answer(service, "web1", "web2"))["pool"] == (
        "2 of 4 up, min_up 2 -> degraded")
    index.apply(as_changeset([NodeRow("pool", "cluster", "active", "pool", "4", None)], []))
    assert dict((u, why) for u, _, _, why, _ in _answer(service, "web1"))["pool"] == "3 of 4 up, min_up 4 -> down"
    assert _answer(service, "web1") == _answer(ImpactService(index, SCHEMA), "web1")


def test_filtered_questions_do_not_share_the_default_arithmetic() -> None:
    g = three_tier_graph()
    g.rel("pool", "HAS_MEMBER", "web3", method="traffic", confidence=0.2)  # the only web3 membership, weak
    service = g.service()
    assert dict((u, why) for u, _, _, why, _ in _answer(service, "web1"))["pool"] == "2 of 3 up, min_up 2 -> degraded"
    strict = _answer(service, "web1", min_confidence=0.5)
    assert strict == _answer(g.service(), "web1", min_confidence=0.5)
    assert dict((u, why) for u, _, _, why, _ in strict)["pool"] == "1 of 2 up, min_up 2 -> down"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.lists(st.sets(st.integers(0, 11), min_size=1, max_size=3), min_size=2, max_size=5))
def test_a_service_answers_a_sequence_like_fresh_services(g: Graph, questions: list[set[int]]) -> None:
    service = g.service()
    for idx in questions:
        failed = pick(g, idx)
        assert _answer(service, *failed) == _answer(g.service(), *failed)
