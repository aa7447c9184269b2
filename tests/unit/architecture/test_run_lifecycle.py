"""One lifecycle, one place: only ``Ingestor.run`` (cmdb/runs.py) starts and finishes scan runs."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = ("cmdb", "cmdb_cli", "discovery", "graph_api", "labs", "bench")
OWNERS = {Path("cmdb/ingest.py"), Path("cmdb/runs.py")}  # the Ingestor and its context manager
PARTS = {"start_run", "finish_run"}


def _callers() -> set[tuple[str, int, str]]:
    found = set()
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative in OWNERS:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in PARTS:
                    found.add((str(relative), node.lineno, node.func.attr))
    return found


def test_no_product_code_starts_or_finishes_a_run_by_hand() -> None:
    assert _callers() == set()


def test_the_check_sees_a_hand_made_run() -> None:
    # The walk above must recognise the pattern it forbids.
    tree = ast.parse("run = ingestor.start_run('aws', 's1')\ningestor.finish_run(run, complete=True)\n")
    calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert calls & PARTS == PARTS
