"""Write the GraphQL SDL to docs/schema.graphql (or the path given): ``python -m graph_api.export_sdl``.

docs/schema.graphql describes the bundled catalog; ``--catalog-in-force`` writes the SDL of the
catalog ``CMDB_SCHEMA_PATH`` names instead (what ``cmdb serve`` answers with, e.g. for a client's codegen).
"""

from __future__ import annotations

import sys
from pathlib import Path

from cmdb.settings import get_core_settings
from graph_api.schema import build_schema, sdl
from graph_api.settings import ApiSettings
from schema import load_schema


def main(argv: list[str]) -> None:
    text = sdl()
    if "--catalog-in-force" in argv:
        argv = [a for a in argv if a != "--catalog-in-force"]
        path = get_core_settings().schema_path
        text = build_schema(ApiSettings(), load_schema(path) if path else load_schema()).as_str() + "\n"
    target = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "docs" / "schema.graphql"
    target.write_text(text)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
