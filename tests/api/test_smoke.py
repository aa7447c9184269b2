from __future__ import annotations

import httpx

from tests.api.conftest import Api


def test_healthz_without_token(api: Api) -> None:
    r = httpx.get(f"{api.url}/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "impact": True}


def test_ci_lookup(api: Api) -> None:
    uid = api.uid("checkout")
    data = api.data("query($u: ID!) { ci(uid: $u) { uid name ciClass owner ... on ServiceCI { serviceId } } }",
                    {"u": uid})
    assert data["ci"] == {"uid": uid, "name": "checkout", "ciClass": "BUSINESS_SERVICE", "owner": "team-shop",
                          "serviceId": "svc-checkout"}
