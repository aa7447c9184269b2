"""Namespace hosts with real sshds and a real PostgreSQL, built once per session, torn down by PID."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ssh.netns import AppLab, Lab, build_app_lab


@pytest.fixture(scope="session")
def app_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppLab]:
    for tool in ("ip", "unshare", "nsenter", "/usr/sbin/sshd"):
        assert shutil.which(tool), f"{tool} is required (apt-get install -y openssh-server iproute2)"
    lab = Lab(Path(tmp_path_factory.mktemp("sshlab")), net="10.250.31", login_users=("postgres",))
    with lab:
        yield build_app_lab(lab, extra_hosts=("odd1", "slow1"))
