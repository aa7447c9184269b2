"""Least privilege for collectors: a collector token writes only the sources and scopes it is bound to.

The tests' collector token is bound to sources aws, ssh and sample in scopes such as
``bound-*`` (tests/api/conftest.py). Writing as ``manual``, as another source, or in
another scope is refused whole with 403, before any run starts; its empty complete runs
age its own scope and nothing else. The answer counts what the run staled and retired.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cmdb.tokens import InvalidBinding, Role, TokenService
from tests.api.conftest import Api

QUEUES = '{ cis(filter: {text: "%s"}, first: 50) { edges { node { name lifecycle } } } }'


def _collect(api: Api, source: str, scope: str, items: list[dict[str, Any]], complete: bool = True,
             role: str = "collector") -> httpx.Response:
    return httpx.post(f"{api.url}/api/v1/collect", headers=api.headers(role), timeout=60,
                      json={"source": source, "scope": scope, "complete": complete, "items": items})


def _queue(source: str, scope: str, name: str) -> dict[str, Any]:
    return {"class": "queue", "source": source, "scope": scope, "identifiers": {"queue_id": name},
            "attributes": {"name": name}}


def _lifecycles(api: Api, prefix: str) -> dict[str, str]:
    edges = api.data(QUEUES % prefix)["cis"]["edges"]
    return {e["node"]["name"]: e["node"]["lifecycle"] for e in edges}


@pytest.mark.parametrize(("source", "scope"), [
    ("manual", "bound-1"),  # people's source, which outranks every scanner
    ("snmp", "bound-1"),  # a source it is not bound to
    ("aws", "foreign-acct"),  # a scope it is not bound to
])
def test_writes_outside_the_binding_are_refused(api: Api, source: str, scope: str) -> None:
    name = f"refused-{source}-{scope}"
    r = _collect(api, source, scope, [_queue(source, scope, name)], complete=False)
    assert r.status_code == 403, r.text
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert f"may not write source {source!r} in scope {scope!r}" in r.text
    assert _lifecycles(api, name) == {}
    runs = api.data('query($s: String) { scanRuns(scope: $s) { runId } }', {"s": scope})["scanRuns"]
    assert runs == []


def test_empty_complete_runs_age_only_the_collectors_own_scope(api: Api) -> None:
    # An account the collector has nothing to do with, written by an admin; and one of its own.
    foreign = [_queue("aws", "foreign-acct-2", f"agefor-{i}") for i in range(3)]
    assert _collect(api, "aws", "foreign-acct-2", foreign, complete=True, role="admin").json()["errors"] == []
    own = [_queue("aws", "bound-age", f"ageown-{i}") for i in range(2)]
    first = _collect(api, "aws", "bound-age", own).json()
    assert first["errors"] == [] and first["counts"]["created"] == 2

    # Its empty complete runs: its own scope ages (stale after 2 missed runs, retired after 4) ...
    answers = [_collect(api, "aws", "bound-age", []).json() for _ in range(4)]
    assert [a["status"] for a in answers] == ["complete"] * 4
    assert [(a["counts"]["stale"], a["counts"]["retired"]) for a in answers] == [(0, 0), (2, 0), (0, 0), (0, 2)]
    assert _lifecycles(api, "ageown-") == {"ageown-0": "RETIRED", "ageown-1": "RETIRED"}
    # ... and the other account's CIs do not: its runs there are refused before they start.
    for _ in range(4):
        assert _collect(api, "aws", "foreign-acct-2", []).status_code == 403
    assert _lifecycles(api, "agefor-") == {f"agefor-{i}": "ACTIVE" for i in range(3)}


def test_bindings_are_set_when_the_token_is_created(tmp_path: Any) -> None:
    from cmdb.store.tokens_sqlite import SQLiteTokenStore

    store = SQLiteTokenStore(tmp_path / "tokens.sqlite")
    tokens = TokenService(store)
    with pytest.raises(InvalidBinding, match="may not write as 'manual'"):
        tokens.create("c", Role.COLLECTOR, ["aws", "manual"], ["*"], known_sources={"aws", "manual"})
    with pytest.raises(InvalidBinding, match="needs the sources"):
        tokens.create("c", Role.COLLECTOR)
    with pytest.raises(InvalidBinding, match="unknown source"):
        tokens.create("c", Role.COLLECTOR, ["awz"], ["*"], known_sources={"aws"})
    with pytest.raises(InvalidBinding, match="only collector tokens"):
        tokens.create("v", Role.VIEWER, ["aws"], ["*"])
    _, plain = tokens.create("c", Role.COLLECTOR, ["aws"], ["acct-1/*"], known_sources={"aws"})
    verified = tokens.verify(plain)
    assert (verified.sources, verified.scopes) == (("aws",), ("acct-1/*",))
    assert verified.may_write("aws", "acct-1/eu-west-1")
    assert not verified.may_write("aws", "acct-2/eu-west-1")
    assert not verified.may_write("manual", "acct-1/eu-west-1")
    store.close()
