"""Reads stay correct while an ingest writes: no client ever sees a partially updated CI."""

from __future__ import annotations

import threading

import httpx

from tests.api.conftest import Api

N = 2100  # more than one ingest batch (2000), so a run commits in several transactions
VERSIONS = 2
QUERY = """query($after: String) { cis(filter: {ciClass: VIRTUAL_MACHINE,
             attributes: [{attribute: "environment", value: "conc"}]}, first: 500, after: $after) {
             edges { node { name attributes } } pageInfo { hasNextPage endCursor } } }"""


def _batch(version: int) -> dict:  # type: ignore[type-arg]
    stamp = f"v{version}"
    items = [{"class": "virtual_machine", "source": "ssh", "scope": "conc", "identifiers": {"fqdn": f"conc-{i:05d}"},
              "attributes": {"name": f"conc-{i:05d}", "environment": "conc", "os_version": stamp, "kernel": stamp,
                             "description": stamp, "architecture": stamp}} for i in range(N)]
    return {"source": "ssh", "scope": "conc", "complete": True, "items": items}


def test_readers_never_see_a_partial_ci_during_ingest(api: Api) -> None:
    stop = threading.Event()
    problems: list[str] = []
    reads = [0]

    def writer() -> None:
        try:
            for version in range(1, VERSIONS + 1):
                r = httpx.post(f"{api.url}/api/v1/collect", json=_batch(version), headers=api.headers("collector"),
                               timeout=300)
                if r.status_code != 200 or r.json()["errors"]:
                    problems.append(f"ingest v{version}: {r.status_code} {r.text[:300]}")
        finally:
            stop.set()

    def reader() -> None:
        with httpx.Client(base_url=api.url, headers=api.headers("viewer"), timeout=60) as client:
            while not stop.is_set():
                after = None
                while True:
                    body = client.post("/graphql", json={"query": QUERY, "variables": {"after": after}}).json()
                    if body.get("errors"):
                        problems.append(str(body["errors"])[:300])
                        return
                    conn = body["data"]["cis"]
                    for edge in conn["edges"]:
                        a = edge["node"]["attributes"]
                        stamps = {a.get("os_version"), a.get("kernel"), a.get("description"), a.get("architecture")}
                        if len(stamps) != 1 or None in stamps:
                            problems.append(f"partial CI {edge['node']['name']}: {sorted(map(str, stamps))}")
                    reads[0] += 1
                    if not conn["pageInfo"]["hasNextPage"]:
                        break
                    after = conn["pageInfo"]["endCursor"]

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=280)
    assert not problems, problems[:5]
    assert reads[0] > 3
    final = api.data(QUERY, {"after": None})["cis"]["edges"]
    assert {e["node"]["attributes"]["kernel"] for e in final} == {f"v{VERSIONS}"}
