"""Every statement the Neo4j transport can send passes Neo4j's own Cypher linter.

The linter is ``@neo4j-cypher/language-support`` (``lintCypherQuery``), run by
``tools/cypher-lint/lint.mjs`` under node; install it with
``npm ci --prefix tools/cypher-lint``. Only "Parameter $x is not defined"
diagnostics are allowed: the driver sends the parameters.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cmdb.store.cypher.ddl import NEO4J_AWAIT_INDEXES, NEO4J_SHOW_INDEXES, index_specs, neo4j_ddl, neo4j_ddl_for
from cmdb.store.cypher.statements import SearchShape, Statements
from schema import load_schema

ROOT = Path(__file__).resolve().parents[3]
LINT_DIR = ROOT / "tools" / "cypher-lint"


def db_schema() -> dict[str, list[str]]:
    """What the graph may hold, from ``schema/``: anything else in a statement is reported."""
    statements = Statements(load_schema())
    return {
        "labels": statements.labels(),
        "relationshipTypes": list(statements.rel_types),
        "propertyKeys": statements.property_keys(),
    }


def _lint_run(items: list[dict[str, str]], chunk: int) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "node is not on PATH (the Neo4j linter runs under node)"
    assert (LINT_DIR / "node_modules" / "@neo4j-cypher" / "language-support").is_dir(), (
        "the Neo4j linter is not installed: run `npm ci --prefix tools/cypher-lint`"
    )
    proc = subprocess.run(
        [node, str(LINT_DIR / "lint.mjs")], input=json.dumps({"schema": db_schema(), "statements": items, "chunk": chunk}), capture_output=True, text=True,
        cwd=LINT_DIR, timeout=900, check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    assert [r["name"] for r in results] == [i["name"] for i in items]
    return results


# Statement text per linter run: each run holds its whole input and output in
# memory; this keeps runs small without paying node's start-up too often.
_TEXT_PER_RUN = 200_000


def lint(items: list[dict[str, str]], chunk: int = 1) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    start = 0
    while start < len(items):
        end, size = start, 0
        while end < len(items) and (end == start or size + len(items[end]["statement"]) <= _TEXT_PER_RUN):
            size += len(items[end]["statement"])
            end += 1
        results += _lint_run(items[start:end], chunk)
        start = end
    return results


def neo4j_statements() -> list[dict[str, str]]:
    """The statements of the shipped schema plus the Neo4j DDL derived from it."""
    schema = load_schema()
    items = [{"name": name, "statement": text} for name, text in Statements(schema).catalogue()]
    items += [{"name": f"ddl[{i}]", "statement": text} for i, text in enumerate(neo4j_ddl(schema))]
    items += [{"name": "show_indexes", "statement": NEO4J_SHOW_INDEXES},
              {"name": "await_indexes", "statement": NEO4J_AWAIT_INDEXES}]
    return items


@pytest.mark.timeout(900)  # ~0.25 s of CPU per statement; the linter is slow
def test_every_neo4j_statement_lints_clean() -> None:
    items = neo4j_statements()
    # The catalogue covers every class and relationship type of the schema.
    schema = load_schema()
    names = {i["name"] for i in items}
    assert {f"upsert_cis[{c}]" for c in schema.classes} <= names
    assert {f"upsert_rels[{t}]" for t in schema.relationships} <= names
    assert len(neo4j_ddl_for(index_specs(schema))) == len(index_specs(schema))
    dirty = {r["name"]: r["diagnostics"] for r in lint(items, chunk=25) if r["diagnostics"]}
    assert dirty == {}


def test_the_linter_does_catch_what_only_falkordb_accepts() -> None:
    """The check has teeth: broken or FalkorDB-only text is reported."""
    bad = [
        {"name": "syntax", "statement": "MATCH (n:CI RETURN n"},
        {"name": "falkordb_constraint", "statement": "CREATE CONSTRAINT ON (n:CI) ASSERT n.uid IS UNIQUE"},
        {"name": "undefined_variable", "statement": "MATCH (n:CI) RETURN m"},
        {"name": "unknown_label", "statement": "MATCH (n:Hots) RETURN n.uid"},
        {"name": "unknown_property", "statement": "MATCH (n:CI) RETURN n.fqnd"},
        {"name": "clean", "statement": "MATCH (n:Host) RETURN n.fqdn"},
    ]
    expected = {"syntax", "falkordb_constraint", "undefined_variable", "unknown_label", "unknown_property"}
    assert {r["name"] for r in lint(bad) if r["diagnostics"]} == expected
    # Linted in chunks (as the big check does), a bad statement among clean ones is still caught.
    clean = neo4j_statements()[:4]
    for one in bad[:-1]:
        mixed = [*clean[:2], one, *clean[2:]]
        assert {r["name"] for r in lint(mixed, chunk=len(mixed)) if r["diagnostics"]} == {one["name"]}


def test_parameter_diagnostics_alone_are_ignored() -> None:
    statements = Statements(load_schema())
    text = statements.search(SearchShape(classes=True, filters=(("fqdn", "eq"),)))
    assert lint([{"name": "search", "statement": text}])[0]["diagnostics"] == []
