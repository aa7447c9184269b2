"""Record the payloads the vSphere transform tests replay (``tests/data/vsphere/``).

    PYTHONPATH=. .venv/bin/python -m tests.integration.vsphere.record_payloads

Starts vcsim twice (its default inventory, and the custom one of the integration
tests with HA on one cluster and guest facts on one VM), collects each with the
real client, and writes what ``VsphereClient.collect`` returned.
"""

from __future__ import annotations

import json
from pathlib import Path

from discovery.vsphere.client import ConnectSettings, VsphereClient
from labs.vcsim import running_vcsim
from tests.integration.vsphere.admin import admin_session
from tests.integration.vsphere.conftest import CUSTOM

OUT = Path(__file__).resolve().parents[2] / "data" / "vsphere"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, inventory in (("default", None), ("custom", CUSTOM)):
        with running_vcsim(inventory) as sim:
            if name == "custom":
                with admin_session(sim) as admin:
                    admin.enable_ha("DC1_C0")
                    admin.set_guest("DC0_C0_RP1_VM0", hostname="web-01.example.com", ip="10.1.2.3")
            client = VsphereClient(ConnectSettings(sim.server, sim.user, sim.password, verify=False))
            client.login()
            try:
                payload = client.collect()
            finally:
                client.logout()
        (OUT / f"{name}.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
        print(f"wrote {OUT / name}.json")


if __name__ == "__main__":
    main()
