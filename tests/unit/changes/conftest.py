from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.changes.change_scenario import Scenario


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[Scenario]:
    s = Scenario(tmp_path)
    yield s
    s.close()
