"""GraphQL latency by operation name, type and root field on /metrics (issue 25 item 4)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from graph_api.operation_metrics import OperationNames
from tests.api.conftest import Api


def _counts(api: Api) -> dict[tuple[str, str, str], float]:
    text = httpx.get(f"{api.url}/metrics", headers=api.headers("viewer")).text
    return {(s.labels["operation"], s.labels["type"], s.labels["root_field"]): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == "cmdb_graphql_operation_seconds_count"}


def test_operations_are_timed_by_name_type_and_root_field(api: Api) -> None:
    before = _counts(api)
    for _ in range(2):
        assert api.gql("query RunsProbe { scanRuns { runId } }").status_code == 200
    assert api.gql("{ __typename scanRuns { runId } }").status_code == 200
    assert api.gql("query Two { b: scanRuns { runId } a: __typename }", role="viewer").status_code == 200
    after = _counts(api)
    grown = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert grown == {("RunsProbe", "query", "scanRuns"): 2, ("anonymous", "query", "__typename+scanRuns"): 1,
                     ("Two", "query", "__typename+scanRuns"): 1}


def test_client_chosen_names_are_bounded() -> None:
    names = OperationNames(limit=2)
    assert [names.label(n) for n in ("A", "B", "C", "A", None)] == ["A", "B", "other", "A", "anonymous"]
