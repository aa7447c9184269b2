"""Every file or directory of the repository that the docs name exists.

A reference is a backticked word or a Markdown link target in README.md or docs/**/*.md
whose first path component is a top-level entry of the repository (``cmdb/ingest.py``,
``tests/api/``, ``docs/deployment.md``, ``bench/api.py --cis 1000``'s first word): so
``application/json`` or ``/healthz`` are not taken for files. A ``::test`` suffix, a
``:line`` or ``:NAME`` suffix and a trailing punctuation mark are dropped; a reference with a glob or a
placeholder (``*``, ``<...>``, ``NAME``) is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TOP = {p.name for p in ROOT.iterdir() if not p.name.startswith(".") or p.name == ".ci"}
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def references(text: str) -> set[str]:
    """The repository paths a Markdown text names."""
    text = _FENCE.sub("", text)  # code blocks hold commands and diagrams, checked by reading
    out = set()
    for raw in [*_CODE.findall(text), *_LINK.findall(text)]:
        word = raw.strip().split()[0] if raw.strip() else ""
        word = word.split("::")[0].split("#")[0].rstrip(".,;:)")
        if "/" not in word or any(c in word for c in "*<>{}$") or "://" in word:
            continue
        word = re.sub(r":[\w.-]+$", "", word)  # a line number or a name inside the file
        if word.split("/")[0] in TOP:
            out.add(word)
    return out


def _docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_the_docs_name_only_files_that_exist() -> None:
    missing = {f"{doc.relative_to(ROOT)}: {ref}" for doc in _docs() for ref in references(doc.read_text())
               if not (ROOT / ref).exists()}
    assert missing == set()


def test_references_are_found_and_a_missing_one_is_reported() -> None:
    text = ("See `cmdb/ingest.py` and [the deployment](docs/deployment.md), `tests/api/test_auth.py::test_x`,\n"
            "`discovery/aws/calls.py:API_CALLS`, `cmdb/ingest.py:12`, "
            "`bench/api.py --cis 10`, `cmdb/nowhere.py`; not `application/json`, `/healthz`, `dc2/*`.\n"
            "```\ncmdb/in_a_fence.py\n```\n")
    found = references(text)
    assert found == {"cmdb/ingest.py", "docs/deployment.md", "tests/api/test_auth.py", "bench/api.py",
                     "discovery/aws/calls.py",
                     "cmdb/nowhere.py"}
    assert {ref for ref in found if not (ROOT / ref).exists()} == {"cmdb/nowhere.py"}
