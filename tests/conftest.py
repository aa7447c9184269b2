from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import Harness


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    h = Harness(tmp_path / "cmdb.sqlite")
    yield h
    h.store.close()
