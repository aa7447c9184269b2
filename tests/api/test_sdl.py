"""docs/schema.graphql is the exported SDL; regenerate with `python -m graph_api.export_sdl`."""

from __future__ import annotations

from pathlib import Path

from graph_api.cis.types import family_types
from graph_api.schema import sdl
from schema import load_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.graphql"


def test_exported_sdl_is_current() -> None:
    assert DOC.read_text() == sdl(), "docs/schema.graphql is stale: run `python -m graph_api.export_sdl`"


def test_enums_are_derived_from_the_catalog() -> None:
    catalog = load_schema()
    text = sdl()
    for name in catalog.classes:
        assert f"  {name.upper()}\n" in text
    for name in catalog.relationships:
        assert f"  {name}\n" in text
    assert set(family_types(catalog)) == {c.family for c in catalog.classes.values()}
