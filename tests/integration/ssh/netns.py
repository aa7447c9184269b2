"""Reusable namespace hosts for the SSH tests, the benchmark and the demo.

Everything lives in :mod:`labs.ssh.hosts` and :mod:`labs.ssh.workloads` (importable at run time by the
demo): :class:`Lab` (namespace hosts with their own sshd, hostname, FQDN and
machine-id, reached from a scanner namespace), the workloads
(:func:`start_postgres`, :func:`start_app`, :func:`stop_process`) and the
standard application lab (:func:`build_app_lab`: db1 PostgreSQL, app1 app +
psql + exporter, mon1 client). This module re-exports them for the tests.

Example::

    with Lab(tmp_path, net="10.250.31") as lab:
        app_lab = build_app_lab(lab)
        inventory = lab.write_inventory(tmp_path / "inv.yaml")
        # cmdb discover hosts --inventory inv.yaml --netns <lab.scanner_netns>
"""

from __future__ import annotations

from labs.ssh.hosts import Lab, LabHost
from labs.ssh.workloads import PG_BIN, AppLab, build_app_lab, start_app, start_postgres, stop_process

__all__ = ["PG_BIN", "AppLab", "Lab", "LabHost", "build_app_lab", "start_app", "start_postgres", "stop_process"]
