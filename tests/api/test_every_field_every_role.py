"""Every root field of the live schema against every role, over real HTTP.

The expected policy is written here, independently of the code: every query is
for viewers and above, every mutation for editors and above except the ones
named admin-only below; a collector may call none of them. Fields are read from
the served schema by introspection, so a field added later is covered without
touching this file, and arguments are built from their declared types. Only
refused calls are made: an allowed call with made-up arguments would change the
shared estate other tests read.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

ADMIN_ONLY_MUTATIONS = {"triggerDiscovery"}
SCALARS = {"Int": "1", "Float": "1.0", "Boolean": "false", "ID": '"x"', "String": '"x"', "Long": "1",
           "DateTime": '"2027-02-08T09:00:00+00:00"', "JSON": "{}"}
RANK = {"collector": 0, "viewer": 1, "editor": 2, "admin": 3}

_TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"
INTROSPECTION = f"""{{
  __schema {{
    queryType {{ name }} mutationType {{ name }}
    types {{ kind name
      fields {{ name args {{ name defaultValue type {{ {_TYPE_REF} }} }} type {{ {_TYPE_REF} }} }}
      inputFields {{ name defaultValue type {{ {_TYPE_REF} }} }}
      enumValues {{ name }}
    }}
  }}
}}"""


def _schema(api: Api) -> dict[str, Any]:
    return api.data(INTROSPECTION, role="admin")["__schema"]  # type: ignore[no-any-return]


def _named(type_ref: dict[str, Any]) -> dict[str, Any]:
    while type_ref.get("ofType"):
        type_ref = type_ref["ofType"]
    return type_ref


def _value(type_ref: dict[str, Any], types: dict[str, dict[str, Any]], depth: int = 0) -> str:
    """A GraphQL literal of the declared type (required input fields filled, optional ones left out)."""
    if type_ref["kind"] == "NON_NULL":
        return _value(type_ref["ofType"], types, depth)
    if type_ref["kind"] == "LIST":
        return f"[{_value(type_ref['ofType'], types, depth)}]"
    name = type_ref["name"]
    if type_ref["kind"] == "ENUM":
        return str(types[name]["enumValues"][0]["name"])
    if type_ref["kind"] == "INPUT_OBJECT":
        assert depth < 5, name
        fields = [f for f in types[name]["inputFields"] if f["type"]["kind"] == "NON_NULL" and f["defaultValue"] is None]
        return "{" + ", ".join(f"{f['name']}: {_value(f['type'], types, depth + 1)}" for f in fields) + "}"
    assert name in SCALARS, f"no literal for the scalar {name}: add one to SCALARS"
    return SCALARS[name]


def _selection(type_ref: dict[str, Any], types: dict[str, dict[str, Any]]) -> str:
    named = _named(type_ref)
    return "" if named["kind"] in ("SCALAR", "ENUM") else " { __typename }"


def _operations(api: Api, root: str) -> dict[str, str]:
    schema = _schema(api)
    types = {t["name"]: t for t in schema["types"]}
    type_name = schema[f"{root}Type"]["name"]
    operations = {}
    for field in types[type_name]["fields"]:
        required = [a for a in field["args"] if a["type"]["kind"] == "NON_NULL" and a["defaultValue"] is None]
        args = ", ".join(f"{a['name']}: {_value(a['type'], types)}" for a in required)
        call = f"{field['name']}({args})" if args else field["name"]
        operations[field["name"]] = f"{root} {{ {call}{_selection(field['type'], types)} }}"
    return operations


def _refused(api: Api, document: str, role: str) -> bool:
    response = api.gql(document, role=role)
    assert response.status_code == 200, response.text
    body = response.json()
    errors = body.get("errors") or []
    assert all("Cannot query field" not in e["message"] and "Unknown argument" not in e["message"]
               and "Expected value of type" not in e["message"] for e in errors), (document, errors)
    return any((e.get("extensions") or {}).get("code") == "FORBIDDEN" for e in errors)


def test_the_schema_has_the_fields_this_matrix_is_about(api: Api) -> None:
    mutations = set(_operations(api, "mutation"))
    queries = set(_operations(api, "query"))
    assert {"createCi", "updateCi", "retireCi", "relate", "triggerDiscovery"} <= mutations
    assert {"ci", "cis", "impact"} <= queries


@pytest.mark.parametrize("role", ["collector", "viewer", "editor"])
def test_every_mutation_refuses_the_roles_below_its_own(api: Api, role: str) -> None:
    refused: set[str] = set()
    allowed: set[str] = set()
    for name, document in _operations(api, "mutation").items():
        needed = "admin" if name in ADMIN_ONLY_MUTATIONS else "editor"
        if RANK[role] >= RANK[needed]:
            continue  # allowed calls are not made (see the module's docstring)
        (refused if _refused(api, document, role) else allowed).add(name)
    assert allowed == set(), f"{role} may call {sorted(allowed)}"
    assert refused, "no mutation was checked"


def test_every_query_refuses_a_collector(api: Api) -> None:
    operations = _operations(api, "query")
    not_refused = {name for name, document in operations.items() if not _refused(api, document, "collector")}
    assert not_refused == set()


def test_every_query_is_open_to_a_viewer(api: Api) -> None:
    operations = _operations(api, "query")
    refused = {name for name, document in operations.items() if _refused(api, document, "viewer")}
    assert refused == set()
