"""Merge and unmerge by hand (editor role) and the suspected duplicates, over real HTTP."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_mutations import _create

MERGE = """mutation($k: ID!, $o: ID!) { mergeCis(keep: $k, other: $o) { __typename
  ... on MergePayload { runId kept { uid lifecycle attributes } other { uid lifecycle duplicateOf } }
  ... on ValidationError { field message } ... on NotFoundError { key } } }"""
UNMERGE = """mutation($u: ID!) { unmergeCi(uid: $u) { __typename
  ... on MergePayload { kept { uid attributes } other { uid lifecycle duplicateOf attributes } }
  ... on ValidationError { field message } ... on NotFoundError { key } } }"""
DUPLICATES = "{ duplicates(first: 1000) { uids classes evidence separated separatedBy } }"


def _host(api: Api, ids: dict[str, Any], attrs: dict[str, Any]) -> str:
    made = _create(api, "host", ids, attrs)
    assert made["__typename"] == "CIPayload", made
    return str(made["ci"]["uid"])


def test_merge_and_unmerge_need_the_editor_role_and_move_identity(api: Api) -> None:
    keep = _host(api, {"fqdn": "merge-a.example.com"}, {"name": "merge-a", "owner": "team-merge"})
    other = _host(api, {"serial_number": "MERGE-SN-1"}, {"name": "merge-a-chassis"})
    denied = api.gql(MERGE, {"k": keep, "o": other}, role="viewer").json()
    assert denied["errors"] and denied.get("data") is None

    merged = api.data(MERGE, {"k": keep, "o": other}, role="editor")["mergeCis"]
    assert merged["__typename"] == "MergePayload"
    assert (merged["kept"]["lifecycle"], merged["kept"]["attributes"]["serial_number"]) == ("ACTIVE", "MERGE-SN-1")
    assert merged["other"] == {"uid": other, "lifecycle": "RETIRED", "duplicateOf": keep}
    history = api.data("query($u: ID!) { history(uid: $u) { action changes } }", {"u": other})["history"]
    assert [h["changes"]["merged_into"] for h in history if h["action"] == "merge"] == [[None, keep]]

    again = api.data(MERGE, {"k": keep, "o": other}, role="editor")["mergeCis"]
    assert again["__typename"] == "ValidationError" and "retired" in again["message"]
    missing = api.data(MERGE, {"k": keep, "o": "no-such-uid"}, role="editor")["mergeCis"]
    assert missing == {"__typename": "NotFoundError", "key": "no-such-uid"}

    restored = api.data(UNMERGE, {"u": other}, role="editor")["unmergeCi"]
    assert restored["__typename"] == "MergePayload"
    assert (restored["other"]["lifecycle"], restored["other"]["duplicateOf"]) == ("ACTIVE", None)
    assert "serial_number" not in restored["kept"]["attributes"]
    assert restored["other"]["attributes"]["serial_number"] == "MERGE-SN-1"


def test_two_things_are_never_merged_and_duplicates_are_listed_with_evidence(api: Api) -> None:
    one = _host(api, {"machine_id": "merge-m1", "sys_name": "dup-web"}, {"name": "dup-web-1"})
    two = _host(api, {"machine_id": "merge-m2", "sys_name": "dup-web"}, {"name": "dup-web-2"})
    refused = api.data(MERGE, {"k": one, "o": two}, role="editor")["mergeCis"]
    assert refused["__typename"] == "ValidationError" and "machine_id" in refused["message"]
    groups = api.data(DUPLICATES)["duplicates"]
    ours = [g for g in groups if set(g["uids"]) == {one, two}]
    assert ours == [{"uids": ours[0]["uids"], "classes": ["host", "host"], "evidence": ["sys_name = dup-web"],
                     "separated": True, "separatedBy": ["machine_id"]}]
