"""Write the GraphQL SDL to docs/schema.graphql (or the path given): ``python -m graph_api.export_sdl``.

docs/schema.graphql describes the bundled catalog, so ``CMDB_SCHEMA_PATH`` is ignored here unless
``--catalog-in-force`` is given (then the SDL of that catalog is written, e.g. for a client's codegen).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    if "--catalog-in-force" in argv:
        argv = [a for a in argv if a != "--catalog-in-force"]
    else:
        os.environ.pop("CMDB_SCHEMA_PATH", None)  # read when graph_api.enums is first imported, just below
    from graph_api.schema import sdl

    target = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "docs" / "schema.graphql"
    target.write_text(sdl())
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
