"""The ``sample`` scanner: the synthetic estate (:mod:`labs.synthetic`) as a job a jobs file may name.

It lives with the labs, not in the product's scanner registry; the composition root
(``cmdb_cli``) and the test suite call :func:`register` to make it available.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from discovery import scanner_registry
from discovery.base import Scanner
from labs.synthetic import EstateSpec, SyntheticScanner

if TYPE_CHECKING:
    from discovery.jobs import Job, Secret


class SampleOptions(BaseModel):
    """The bundled synthetic estate: ``apps`` drives its size (34 CIs per app)."""

    model_config = ConfigDict(extra="forbid")

    apps: int = Field(default=12, ge=1, le=100_000)
    seed: int = 7


def _build_sample(job: Job, options: BaseModel, secrets: dict[str, Secret]) -> Scanner:
    assert isinstance(options, SampleOptions)
    return SyntheticScanner(EstateSpec(apps=options.apps, seed=options.seed), source="sample")


ENTRY = scanner_registry.ScannerEntry("sample", "sample", "labs.synthetic", SampleOptions, frozenset(),
                                      _build_sample, "the bundled synthetic sample estate")


def register() -> None:
    """Make ``scanner: sample`` available to jobs files (idempotent)."""
    scanner_registry.register(ENTRY)
