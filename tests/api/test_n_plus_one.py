"""No N+1: 100 CIs with their neighbours and the neighbours' classes cost a bounded number of store calls."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.estate import BULK

QUERY = """{ cis(filter: {attributes: [{attribute: "environment", value: "bulk"}]}, first: 100) {
  edges { node { uid name neighbours { relationship { type evidence { method } }
                                       ci { uid ciClass name neighbours(first: 3) { ci { ciClass } } } } } } } }"""


def test_hundred_cis_with_neighbours_cost_bounded_store_calls(api: Api) -> None:
    api.store.reset()
    data = api.data(QUERY)
    calls = dict(api.store.calls)
    edges = data["cis"]["edges"]
    assert len(edges) == BULK
    for edge in edges:
        i = int(edge["node"]["name"].split("-")[1])
        assert {(n["relationship"]["type"], n["ci"]["ciClass"], n["ci"]["name"]) for n in edge["node"]["neighbours"]} \
            == {("LOCATED_IN", "LOCATION", "dc1"), ("HOSTED_ON", "PHYSICAL_SERVER", f"hv-{i % 10}")}
    # One search, one neighbours call per nesting level (2), one CI load for the first level's
    # other ends (dc1, hv-*); the second level's other ends are the bulk CIs the search primed.
    assert calls == {"search": 1, "neighbours": 2, "get_cis": 1}, calls


def test_per_request_loaders_do_not_leak_between_requests(api: Api) -> None:
    """Each request builds fresh loaders: a second identical request hits the store again."""
    api.store.reset()
    api.data(QUERY)
    first = dict(api.store.calls)
    api.data(QUERY)
    assert dict(api.store.calls) == {k: 2 * v for k, v in first.items()}
