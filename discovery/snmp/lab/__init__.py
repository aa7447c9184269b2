"""The lab topology served by snmpsim in the integration tests and the demo.

``generate.py`` writes one ``.snmprec`` per device from the declarative topology
below it; the files are committed so the demo needs no generation step.
"""

from __future__ import annotations

from pathlib import Path

LAB_DIR = Path(__file__).parent


def device_files() -> dict[str, Path]:
    """Device name -> its ``.snmprec`` file."""
    return {p.stem: p for p in sorted(LAB_DIR.glob("*.snmprec"))}
