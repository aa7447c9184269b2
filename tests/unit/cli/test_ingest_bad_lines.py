"""`cmdb ingest` rejects each bad line with its 1-based line number and applies every other one.

Bad at reading (a byte that is not UTF-8, JSON nested past the decoder's recursion), bad at
storing (JSON nested past the encoders' limit, an integer beyond 64 bits, a lone surrogate):
each costs its own line only. Run as a user would: the real `cmdb` executable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.unit.cli.test_core_commands import cmdb


def _app(name: str, **attributes: Any) -> bytes:
    item = {"kind": "ci", "source": "manual", "scope": "hand", "class": "application",
            "identifiers": {"app_id": name}, "attributes": {"name": name, **attributes}}
    return json.dumps(item).encode() + b"\n"


def test_each_bad_line_is_rejected_with_its_line_number(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    file = tmp_path / "batch.jsonl"
    file.write_bytes(b"".join([
        _app("good-1"),                                             # line 1
        _app("bad-byte")[:-3] + b"\xff\"}}\n",                      # line 2: not UTF-8
        b"[" * 100_000 + b"]" * 100_000 + b"\n",                    # line 3: nested past the decoder
        b"\n",                                                      # line 4: blank, skipped
        _app("deep", tags=deep),                                    # line 5: past the encoders' depth
        _app("good-2"),                                             # line 6
        _app("big", tags={"n": 2**64}),                             # line 7: beyond 64 bits
        _app("surrogate", description="a\ud800b"),                  # line 8: lone surrogate (escaped)
        _app("good-3"),                                             # line 9
    ]))
    result = cmdb(["ingest", str(file), "--source", "manual", "--scope", "hand", "--json"], data_dir)
    assert result.returncode == 2, result.stderr
    out = json.loads(result.stdout)
    assert [u.split(":")[0] for u in out["unreadable"]] == ["line 2", "line 3"], out["unreadable"]
    assert "not valid UTF-8" in out["unreadable"][0] and "nested too deep" in out["unreadable"][1]
    assert {(r["line"], r["field"]) for r in out["rejected"]} == {
        (5, "attributes.tags"), (7, "attributes.tags"), (8, "attributes.description")}, out["rejected"]
    assert out["run"]["counts"]["created"] == 3
    found = json.loads(cmdb(["search", "--class", "application", "--json"], data_dir).stdout)
    assert {c["name"] for c in found["items"]} == {"good-1", "good-2", "good-3"}

    plain = cmdb(["ingest", str(file), "--source", "manual", "--scope", "hand"], data_dir)
    assert "line 7: attributes.tags: integer beyond 64 bits" in plain.stderr, plain.stderr
    assert "line 2: not valid UTF-8" in plain.stderr
