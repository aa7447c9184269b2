from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from discovery.ssh.hostkeys import HostKeyMode
from discovery.ssh.inventory import Credentials, InventoryError, load_inventory

INVENTORY = """
scope: dc1
network_scope: site-a
defaults: {user: cmdb, key_file: keys/cmdb_ed25519, sudo_ss: true}
host_keys: {mode: fingerprints, file: fingerprints.json}
concurrency: 8
deadline_s: 12
noise: {ports: [53], processes: [], cidrs: [192.0.2.0/24]}
hosts:
  - db1.example.test
  - {name: app1, address: 10.0.0.5, user: deploy, port: 2222, instance_id: i-0abc1234def567890}
ranges:
  - {cidr: 10.0.1.0/30, network_scope: site-b}
  - {cidr: 10.0.1.1/32}
"""


def test_hosts_and_ranges_resolve_to_targets(tmp_path: Path) -> None:
    (tmp_path / "inv.yaml").write_text(INVENTORY)
    inv = load_inventory(tmp_path / "inv.yaml")
    got = {(t.name, t.address, t.port, t.credentials.user, t.network_scope, t.instance_id) for t in inv.targets()}
    assert got == {
        ("db1.example.test", "db1.example.test", 22, "cmdb", "site-a", None),
        ("app1", "10.0.0.5", 2222, "deploy", "site-a", "i-0abc1234def567890"),
        ("10.0.1.1", "10.0.1.1", 22, "cmdb", "site-b", None),  # the /32 repeats it: first wins
        ("10.0.1.2", "10.0.1.2", 22, "cmdb", "site-b", None),
    }
    target = inv.targets()[0]
    assert target.credentials.key_file == str(tmp_path / "keys" / "cmdb_ed25519")  # relative to the file
    assert target.credentials.sudo_ss is True
    assert (inv.concurrency, inv.deadline_s) == (8, 12)
    noise = inv.noise.filter()
    assert (noise.ports, noise.processes, noise.cidrs) == (frozenset({53}), frozenset(), ("192.0.2.0/24",))
    policy = inv.host_keys.policy(inv.base_dir)
    assert policy.mode is HostKeyMode.FINGERPRINTS and not policy.record_new


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("hosts: [{name: a, pasword: x}]", "pasword"),
        ("ranges: [{cidr: 10.0.0.0/8}]", "larger than"),
        ("ranges: [{cidr: not-a-net}]", "cidr"),
        ("concurrency: 0", "concurrency"),
    ],
)
def test_invalid_inventories_name_the_field(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "inv.yaml").write_text(text)
    with pytest.raises(InventoryError, match=fragment):
        load_inventory(tmp_path / "inv.yaml")


def test_keys_load_by_reference_and_errors_never_show_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    monkeypatch.setenv("LAB_KEY", key.export_private_key().decode())
    (loaded,) = Credentials(key_env="LAB_KEY").load_keys()
    assert loaded.public_data == key.public_data
    with pytest.raises(InventoryError, match="LAB_MISSING holding the SSH key is not set"):
        Credentials(key_env="LAB_MISSING").load_keys()
    monkeypatch.setenv("LAB_BAD", "-----BEGIN OPENSSH PRIVATE KEY-----\nsecretstuff\n")
    with pytest.raises(InventoryError) as info:
        Credentials(key_env="LAB_BAD").load_keys()
    assert "secretstuff" not in str(info.value) and "LAB_BAD" in str(info.value)
    with pytest.raises(InventoryError, match="cannot load SSH key from"):
        Credentials(key_file=str(tmp_path / "nope")).load_keys()


def test_insecure_host_keys_need_an_explicit_test_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "inv.yaml").write_text("host_keys: {mode: insecure}\nhosts: [a]\n")
    monkeypatch.delenv("CMDB_SSH_INSECURE_HOST_KEYS", raising=False)
    with pytest.raises(InventoryError, match="for tests only"):
        load_inventory(tmp_path / "inv.yaml")
    monkeypatch.setenv("CMDB_SSH_INSECURE_HOST_KEYS", "1")
    assert load_inventory(tmp_path / "inv.yaml").host_keys.mode is HostKeyMode.INSECURE
