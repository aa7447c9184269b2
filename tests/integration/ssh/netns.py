"""Reusable namespace hosts for the SSH tests, the benchmark and the demo.

The machinery lives in :mod:`discovery.ssh.labhosts` (importable at run time by
the demo); this module builds the standard application lab on top of it:

- ``db1``: a real PostgreSQL 15 (Debian's) on 5432;
- ``app1``: a Python app listening on 8080 that holds a PostgreSQL session, a
  Python "exporter" on 9100 (monitoring noise), and a ``psql`` session that
  stays open (``select pg_sleep(600)``);
- ``mon1``: a Python client holding connections to app1:8080 and app1:9100.

Every host has its own sshd, hostname, FQDN and machine-id. Call
:func:`build_app_lab` inside ``with Lab(...)`` so that everything is stopped and
every namespace deleted even when a step fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from discovery.ssh.labhosts import PG_BIN, Lab, LabHost, start_app, start_postgres, stop_process

__all__ = ["PG_BIN", "AppLab", "Lab", "LabHost", "build_app_lab", "start_app", "start_postgres", "stop_process"]


@dataclass
class AppLab:
    lab: Lab
    db: LabHost
    app: LabHost
    mon: LabHost


def build_app_lab(lab: Lab, extra_hosts: tuple[str, ...] = ()) -> AppLab:
    """Declare db1/app1/mon1 (and ``extra_hosts``, bare), start them and their workloads."""
    db, app, mon = lab.add_host("db1"), lab.add_host("app1"), lab.add_host("mon1")
    for name in extra_hosts:
        lab.add_host(name)
    lab.start()
    start_postgres(db)
    start_app(app, 8080, (f"{db.address}:5432:pg",))
    start_app(app, 9100)
    app.spawn([str(PG_BIN / "psql"), "-h", db.address, "-U", "postgres", "-c", "select pg_sleep(600)"])
    start_app(mon, 0, (f"{app.address}:8080", f"{app.address}:9100"))
    _wait_sessions(db, 2)
    return AppLab(lab, db, app, mon)


def _wait_sessions(db: LabHost, count: int) -> None:
    """Wait until ``count`` client sessions are open on db1's PostgreSQL."""
    import time

    for _ in range(200):
        out = db.run(["ss", "-tanH", "state", "established", "( sport = :5432 )"]).stdout
        if len([line for line in out.splitlines() if line.strip()]) >= count:
            return
        time.sleep(0.05)
    raise RuntimeError("PostgreSQL sessions did not open")
