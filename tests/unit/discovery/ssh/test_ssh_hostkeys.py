from __future__ import annotations

import json
from pathlib import Path

import asyncssh
import pytest

from discovery.ssh.hostkeys import HostKeyMode, HostKeyPolicy, HostKeyRefused, fingerprint


@pytest.fixture
def keys() -> tuple[asyncssh.SSHKey, asyncssh.SSHKey]:
    return asyncssh.generate_private_key("ssh-ed25519"), asyncssh.generate_private_key("ssh-ed25519")


def test_fingerprint_store_accepts_known_refuses_unknown_and_changed(tmp_path: Path, keys: tuple[asyncssh.SSHKey, asyncssh.SSHKey]) -> None:
    good, other = keys
    store = tmp_path / "fp.json"
    store.write_text(json.dumps({"db1": fingerprint(good)}))
    policy = HostKeyPolicy(HostKeyMode.FINGERPRINTS, store)
    policy.check("db1", "10.0.0.1", 22, good)
    with pytest.raises(HostKeyRefused, match="host key CHANGED for db1") as changed:
        policy.check("db1", "10.0.0.1", 22, other)
    assert changed.value.changed and changed.value.expected == [fingerprint(good)]
    with pytest.raises(HostKeyRefused, match="unknown") as unknown:
        policy.check("db2", "10.0.0.2", 22, other)
    assert not unknown.value.changed


def test_first_use_recording_is_opt_in_and_then_pins(tmp_path: Path, keys: tuple[asyncssh.SSHKey, asyncssh.SSHKey]) -> None:
    good, other = keys
    store = tmp_path / "fp.json"
    policy = HostKeyPolicy(HostKeyMode.FINGERPRINTS, store, record_new=True)
    policy.check("db1", "10.0.0.1", 22, good)
    assert json.loads(store.read_text()) == {"db1": [fingerprint(good)]}
    with pytest.raises(HostKeyRefused, match="CHANGED"):  # recording never overrides a pinned key
        HostKeyPolicy(HostKeyMode.FINGERPRINTS, store, record_new=True).check("db1", "10.0.0.1", 22, other)


def test_known_hosts_file(tmp_path: Path, keys: tuple[asyncssh.SSHKey, asyncssh.SSHKey]) -> None:
    good, other = keys
    kh = tmp_path / "known_hosts"
    kh.write_text(f"db1,10.0.0.1 {good.export_public_key().decode()}")
    policy = HostKeyPolicy(HostKeyMode.KNOWN_HOSTS, kh)
    policy.check("db1", "10.0.0.1", 22, good)
    with pytest.raises(HostKeyRefused, match="CHANGED"):
        policy.check("db1", "10.0.0.1", 22, other)
    with pytest.raises(HostKeyRefused, match="unknown"):
        policy.check("web1", "10.0.0.9", 2222, other)
    tofu = HostKeyPolicy(HostKeyMode.KNOWN_HOSTS, kh, record_new=True)
    tofu.check("web1", "10.0.0.9", 2222, other)
    assert "[10.0.0.9]:2222 ssh-ed25519" in kh.read_text()
    HostKeyPolicy(HostKeyMode.KNOWN_HOSTS, kh).check("web1", "10.0.0.9", 2222, other)


def test_a_file_is_required_outside_insecure_mode() -> None:
    with pytest.raises(ValueError, match="needs a file"):
        HostKeyPolicy(HostKeyMode.FINGERPRINTS, None)
