"""Connection settings and the jobs-file entry of the vSphere scanner (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from discovery.jobs import load_jobs
from discovery.scanner_registry import build_scanner
from discovery.vsphere.client import ConnectSettings
from discovery.vsphere.scanner import VsphereScanner


@pytest.mark.parametrize(("server", "host", "port"), [
    ("vc.example.com", "vc.example.com", 443), ("vc.example.com:8443", "vc.example.com", 8443),
    ("127.0.0.1:18989", "127.0.0.1", 18989), ("10.0.0.5", "10.0.0.5", 443),
])
def test_server_forms(server: str, host: str, port: int) -> None:
    settings = ConnectSettings(server, "u", "secret-value")
    assert (settings.host, settings.port) == (host, port)
    assert settings.verify is True
    assert "secret-value" not in repr(settings)


def test_jobs_file_builds_a_verifying_scanner_with_the_referenced_password(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_VC_PW", "s3cret")
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "jobs.yaml"
    path.write_text("jobs:\n  - name: vc\n    scanner: vsphere\n    credentials: {password: env:TEST_VC_PW}\n"
                    "    options: {server: 'vc.example.com:8443', user: ro@vsphere.local, ca_file: ca.pem}\n")
    scanner = build_scanner(load_jobs(path).get("vc"))
    assert isinstance(scanner, VsphereScanner)
    connect = scanner.config.connect
    assert (connect.server, connect.user, connect.password, connect.verify, connect.ca_file) == (
        "vc.example.com:8443", "ro@vsphere.local", "s3cret", True, str(tmp_path / "ca.pem"))
    assert scanner.config.scope == "vc.example.com:8443"
