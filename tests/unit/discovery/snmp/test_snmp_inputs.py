"""Targets, credentials and value decoding (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from discovery.snmp.client import Endpoint
from discovery.snmp.credentials import CredentialError, SecretRef, V2cCredential, V3Credential, parse_credentials
from discovery.snmp.targets import TargetError, parse_targets
from discovery.snmp.values import interface_name, mac, sys_name_key, text


def test_targets_seeds_cidrs_and_exclusions() -> None:
    targets = parse_targets({
        "scope": "dc1", "port": 1161,
        "targets": [
            {"seeds": ["10.0.0.1", "10.0.0.2:161", "10.0.9.9"], "exclude": ["10.0.9.0/24"], "credentials": ["a"]},
            {"cidr": "10.0.1.0/29", "exclude": ["10.0.1.2/31"], "credentials": ["b", "a"]},
            "10.0.0.1",  # already a seed with other credentials: kept (another context may answer)
        ],
    })
    assert [(str(e), names, seed) for e, names, seed in targets.initial()] == [
        ("10.0.0.1:1161", ("a",), True), ("10.0.0.2:161", ("a",), True),
        ("10.0.1.1:1161", ("b", "a"), False), ("10.0.1.4:1161", ("b", "a"), False),
        ("10.0.1.5:1161", ("b", "a"), False), ("10.0.1.6:1161", ("b", "a"), False),
        ("10.0.0.1:1161", (), True),
    ]
    assert targets.credentials_for("10.0.1.5") == ("b", "a")
    assert targets.credentials_for("10.0.1.2") == ()  # excluded -> only the crawl's own


def test_crawl_only_inside_its_ranges() -> None:
    targets = parse_targets({"targets": ["127.0.0.1"],
                             "crawl": {"ranges": ["127.0.0.0/29"], "credentials": ["lab"]}})
    assert targets.crawl.enabled
    assert targets.crawl.allows("127.0.0.5")
    assert not targets.crawl.allows("127.0.0.9")
    assert not targets.crawl.allows("10.40.1.19")  # an address read from a recording
    assert not parse_targets({"targets": ["127.0.0.1"]}).crawl.allows("127.0.0.2")


@pytest.mark.parametrize("raw, message", [
    ({"targets": []}, "no targets"),
    ({"targets": [{"cidr": "10.0.0.0/8"}]}, "larger than"),
    ({"targets": [{"cidr": "10.0.0.300/24"}]}, r"targets\[0\]: .* does not appear to be"),
    ({"targets": [{"seeds": ["a"], "credentials": 3}]}, "credentials must be"),
])
def test_bad_targets_are_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(TargetError, match=message):
        parse_targets(raw)


def test_credentials_by_reference_never_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "priv").write_text("priv-secret-1\n", encoding="utf-8")
    monkeypatch.setenv("AUTH_KEY", "auth-secret-1")
    monkeypatch.setenv("COMMUNITY", "community-secret")
    creds = parse_credentials({
        "v2": {"version": "2c", "community_env": "COMMUNITY"},
        "v3": {"version": 3, "user": "u", "auth_protocol": "SHA256", "auth_key_env": "AUTH_KEY",
               "priv_protocol": "aes", "priv_key_file": str(tmp_path / "priv")},
    })
    v2, v3 = creds["v2"], creds["v3"]
    assert isinstance(v2, V2cCredential) and isinstance(v3, V3Credential)
    assert v2.community.resolve() == "community-secret"
    assert v3.auth_key is not None and v3.auth_key.resolve() == "auth-secret-1"
    assert v3.priv_key is not None and v3.priv_key.resolve() == "priv-secret-1"
    assert (v3.auth_protocol, v3.priv_protocol) == ("sha256", "aes")
    shown = repr(creds) + str(creds)
    for secret in ("community-secret", "auth-secret-1", "priv-secret-1"):
        assert secret not in shown


@pytest.mark.parametrize("raw, message", [
    ({"x": {"community": "public"}}, "literal 'community' is not accepted"),
    ({"x": {"version": "3", "user": "u", "priv_protocol": "aes", "priv_key_env": "P"}}, "privacy needs authentication"),
    ({"x": {"version": "3", "user": "u", "auth_protocol": "sha"}}, "auth_key_env or auth_key_file"),
    ({"x": {"version": "3", "user": "u", "auth_protocol": "rot13", "auth_key_env": "A"}}, "auth_protocol must be"),
    ({"x": {"version": "1"}}, "version must be"),
])
def test_bad_credentials_are_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(CredentialError, match=message):
        parse_credentials(raw)


def test_missing_secret_names_the_reference_only() -> None:
    with pytest.raises(CredentialError, match="environment variable CMDB_NOT_SET_ANYWHERE is not set"):
        SecretRef(env="CMDB_NOT_SET_ANYWHERE").resolve()


def test_value_decoding() -> None:
    assert text(b"caf\xc3\xa9 ") == "café"
    assert text(b"\xcd\xe2-s5800") == "\\xcd\\xe2-s5800"  # not UTF-8: ASCII kept, the rest escaped
    assert text(b"\x00\x00") is None
    assert mac(b"\x00\x1a\x2b\x3c\x4d\x5e") == "00:1a:2b:3c:4d:5e"
    assert mac(b"001a.2b3c.4d5e") == "00:1a:2b:3c:4d:5e"
    assert mac(b"\x00" * 6) is None and mac(b"\x01\x02") is None
    assert sys_name_key("DIST1.lab.example(FOC1901X0BB)") == "dist1.lab.example"
    assert interface_name("Gi1/0/1") == "GigabitEthernet1/0/1"
    assert interface_name("Te1/1") == "TenGigabitEthernet1/1"
    assert interface_name("Eth1/19") == "Ethernet1/19"
    assert interface_name("ge-0/0/0") == "ge-0/0/0"
    assert str(Endpoint("10.0.0.1", 161)) == "10.0.0.1:161"


def test_scanner_from_jobs_file_options() -> None:
    from discovery.snmp.scanner import from_job_options

    scanner = from_job_options({"scope": "site-a", "targets": ["10.1.0.1", {"cidr": "10.1.1.0/30"}], "port": 1161,
                                "timeout": 2, "network_scope": "site-a"}, {"community": "job-secret"}, 8)
    assert scanner.targets.scope == "site-a" and scanner.targets.network_scope == "site-a"
    assert [(str(e), names) for e, names, _ in scanner.targets.initial()] == [
        ("10.1.0.1:1161", ("job",)), ("10.1.1.1:1161", ("job",)), ("10.1.1.2:1161", ("job",))]
    credential = scanner.credentials["job"]
    assert isinstance(credential, V2cCredential) and credential.community.resolve() == "job-secret"
    assert "job-secret" not in repr(scanner.credentials)
    assert scanner.options.concurrency == 8 and scanner.options.client.timeout == 2
    v3 = from_job_options({"targets": ["10.1.0.1"], "user": "u", "auth_protocol": "sha", "priv_protocol": "aes"},
                          {"auth_key": "a-key-123", "priv_key": "p-key-123"}, 4).credentials["job"]
    assert isinstance(v3, V3Credential) and (v3.user, v3.auth_protocol, v3.priv_protocol) == ("u", "sha", "aes")
