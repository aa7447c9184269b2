"""vcsim child processes for the vSphere tests (started on 127.0.0.1, stopped by PID)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labs.vcsim import Inventory, Vcsim, running_vcsim

# A second estate unlike the default: two datacenters, resource pools, two datastores.
CUSTOM = Inventory(datacenters=2, clusters=1, hosts=2, standalone_hosts=0, vms=1, pools=1, datastores=2,
                   portgroups=1)


@pytest.fixture
def vcsim_default() -> Iterator[Vcsim]:
    """A fresh simulator with vcsim's default inventory (each test may change it)."""
    with running_vcsim() as sim:
        yield sim


@pytest.fixture
def vcsim_custom() -> Iterator[Vcsim]:
    with running_vcsim(CUSTOM) as sim:
        yield sim
