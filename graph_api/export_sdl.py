"""Write the GraphQL SDL to docs/schema.graphql (or the path given): ``python -m graph_api.export_sdl``."""

from __future__ import annotations

import sys
from pathlib import Path

from graph_api.schema import sdl


def main(argv: list[str]) -> None:
    target = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "docs" / "schema.graphql"
    target.write_text(sdl())
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
