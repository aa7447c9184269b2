"""``cmdb serve`` over a custom catalog (``CMDB_SCHEMA_PATH``), as a real uvicorn process.

The catalog adds a class in a family of its own (``badge_reader``, family ``access_control``, with a
``door`` attribute) and a relationship type (``GUARDS``) that the bundled catalog lacks. The API must
expose them: the enums carry the new names, the family gets its own GraphQL type with the typed
attribute, and a CI of the new class is created, related and read back over HTTP.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from graph_api.schema import build_schema
from graph_api.settings import ApiSettings
from schema import load_schema
from tests.api.conftest import free_port, wait_for_healthz

CMDB = [sys.executable, "-m", "cmdb_cli.main"]
BUNDLED = Path(__file__).resolve().parents[2] / "schema" / "catalog.yaml"


def _custom_catalog(path: Path) -> None:
    raw = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    raw["classes"]["badge_reader"] = {
        "parent": "ci", "family": "access_control", "description": "A door's badge reader.",
        "identifiers": [["reader_id"]],
        "attributes": {"reader_id": {"type": "string", "identity": "strong"}, "door": "string"},
    }
    raw["relationships"]["GUARDS"] = {"description": "A reader guards a location.", "from": ["badge_reader"],
                                      "to": ["location"], "impact": "source_to_target"}
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([*CMDB, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _gql(url: str, token: str, query: str) -> dict[str, Any]:
    response = httpx.post(f"{url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_serve_answers_with_the_custom_catalogs_classes_and_relationship_types(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    _custom_catalog(catalog)
    assert "badge_reader" not in load_schema().classes  # only the custom catalog has it
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path), "CMDB_JOBS_FILE": str(tmp_path / "absent.yaml"),
           "CMDB_SCHEMA_PATH": str(catalog)}
    env.pop("CMDB_STORE_URL", None)
    token = json.loads(_cli(env, "token", "create", "tester", "--role", "editor", "--json"))["token"]

    port = free_port()
    proc = subprocess.Popen([*CMDB, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_healthz(proc, url, 60, lambda: proc.stderr.read() if proc.stderr else "")
        enums = _gql(url, token, '{ c: __type(name: "CIClassName") { enumValues { name } } '
                                 'r: __type(name: "RelationshipTypeName") { enumValues { name } } '
                                 't: __type(name: "AccessControlCI") { fields { name } } }')
        assert "BADGE_READER" in {v["name"] for v in enums["c"]["enumValues"]}
        assert "GUARDS" in {v["name"] for v in enums["r"]["enumValues"]}
        assert {"door", "readerId"} <= {f["name"] for f in enums["t"]["fields"]}

        created = _gql(url, token, 'mutation { a: createCi(ciClass: BADGE_READER, identifiers: {reader_id: "R-1"}, '
                                   'attributes: {name: "lobby reader", door: "lobby"}) '
                                   '{ ... on CIPayload { ci { uid } } } '
                                   'b: createCi(ciClass: LOCATION, identifiers: {name: "HQ"}) '
                                   '{ ... on CIPayload { ci { uid } } } }')
        reader, site = created["a"]["ci"]["uid"], created["b"]["ci"]["uid"]
        related = _gql(url, token, f'mutation {{ relate(sourceUid: "{reader}", type: GUARDS, targetUid: "{site}") '
                                   '{ ... on RelationshipPayload { relationship { type } } } }')
        assert related["relate"]["relationship"] == {"type": "GUARDS"}

        found = _gql(url, token, '{ cis(filter: {ciClass: BADGE_READER}) { edges { node { __typename uid ciClass '
                                 'name ... on AccessControlCI { door readerId } '
                                 'neighbours(types: [GUARDS]) { relationship { type } ci { uid } } } } } }')
        assert found["cis"]["edges"] == [{"node": {
            "__typename": "AccessControlCI", "uid": reader, "ciClass": "BADGE_READER", "name": "lobby reader",
            "door": "lobby", "readerId": "R-1",
            "neighbours": [{"relationship": {"type": "GUARDS"}, "ci": {"uid": site}}],
        }}]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def _enum_values(sdl: str, name: str) -> set[str]:
    block = sdl.split(f"enum {name} {{\n", 1)[1].split("}", 1)[0]
    return {line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith('"')}


def test_each_schema_is_built_from_its_own_catalog_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    _custom_catalog(path)
    bundled, custom = load_schema(), load_schema(path)
    bundled_sdl = build_schema(ApiSettings(), bundled).as_str()
    custom_sdl = build_schema(ApiSettings(), custom).as_str()
    assert _enum_values(custom_sdl, "CIClassName") == {name.upper() for name in custom.classes}
    assert _enum_values(custom_sdl, "RelationshipTypeName") == set(custom.relationships)
    assert "type AccessControlCI implements CI" in custom_sdl
    # built after the custom one, the bundled schema still has only the bundled names
    assert build_schema(ApiSettings(), bundled).as_str() == bundled_sdl
    assert _enum_values(bundled_sdl, "CIClassName") == {name.upper() for name in bundled.classes}
    assert "BADGE_READER" not in bundled_sdl and "AccessControlCI" not in bundled_sdl


def test_a_catalog_moving_a_class_to_another_family_is_refused_while_another_is_served(tmp_path: Path) -> None:
    raw = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    raw["classes"]["rack"]["family"] = "furniture"
    path = tmp_path / "moved.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    build_schema(ApiSettings(), load_schema())
    with pytest.raises(ValueError, match=r"classes \['rack'\] belong to other families"):
        build_schema(ApiSettings(), load_schema(path))
