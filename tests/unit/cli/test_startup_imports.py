"""`cmdb --help` and `cmdb <area> --help` import only the shared base, not every area's heavy libraries.

Each command imports its scanners, services and drivers when it runs; these tests start a fresh
interpreter (what `cmdb` does) and look at ``sys.modules`` afterwards. No timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys

# Top-level packages no command may pull in at start-up (discovery clients, numeric code, the API stack,
# the scheduler, the network store drivers).
HEAVY = frozenset({
    "pysnmp", "asyncssh", "boto3", "botocore", "numpy", "networkx", "strawberry", "fastapi", "uvicorn",
    "apscheduler", "falkordb", "neo4j",
})

# Help screens of every area, shown the way the `cmdb` executable shows them.
HELP_ARGS = [
    [], ["change"], ["change", "create"], ["change", "list"], ["change", "window", "add"], ["impact"], ["deps"],
    ["discover"], ["discover", "snmp"], ["discover", "hosts"], ["discover", "aws"], ["discover", "job"],
    ["jobs"], ["scheduler"], ["demo"], ["serve"], ["token"], ["store"],
]

_PROBE = """
import contextlib, io, json, sys
args = json.loads(sys.argv[1])
if args is not None:
    from cmdb_cli.main import app
    for argv in args:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            app([*argv, "--help"], prog_name="cmdb")
else:
    import cmdb_cli.main  # noqa: F401
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def _top_level_after(args: list[list[str]] | None) -> set[str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args)], capture_output=True, text=True,
                          timeout=120, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_package() -> None:
    assert HEAVY & _top_level_after(None) == set()


def test_help_screens_load_no_heavy_package() -> None:
    assert HEAVY & _top_level_after(HELP_ARGS) == set()
