"""net-snmp snmpd (this host) discovered over v2c and over v3 with authentication and privacy."""

from __future__ import annotations

import os
import socket

from discovery.snmp.client import Endpoint
from discovery.snmp.credentials import SecretRef, V2cCredential, V3Credential
from tests.builders import Harness
from tests.integration.snmp.conftest import SNMPD_V2_COMMUNITY, SNMPD_V3
from tests.integration.snmp.scan import Graph, scan

os.environ["CMDB_TEST_SNMPD_COMMUNITY"] = SNMPD_V2_COMMUNITY
os.environ["CMDB_TEST_SNMPD_AUTH"] = SNMPD_V3["auth"]
os.environ["CMDB_TEST_SNMPD_PRIV"] = SNMPD_V3["priv"]
os.environ["CMDB_TEST_SNMPD_WRONG"] = "not-the-auth-key"

V2 = V2cCredential(name="v2", community=SecretRef(env="CMDB_TEST_SNMPD_COMMUNITY"))
V3 = V3Credential(name="v3", user=SNMPD_V3["user"], auth_protocol="sha", auth_key=SecretRef(env="CMDB_TEST_SNMPD_AUTH"),
                  priv_protocol="aes", priv_key=SecretRef(env="CMDB_TEST_SNMPD_PRIV"))
V3_WRONG_AUTH = V3Credential(name="v3-wrong", user=SNMPD_V3["user"], auth_protocol="sha",
                             auth_key=SecretRef(env="CMDB_TEST_SNMPD_WRONG"), priv_protocol="aes",
                             priv_key=SecretRef(env="CMDB_TEST_SNMPD_PRIV"))
V3_UNKNOWN_USER = V3Credential(name="v3-nouser", user="nobody", auth_protocol="sha",
                               auth_key=SecretRef(env="CMDB_TEST_SNMPD_AUTH"), priv_protocol="aes",
                               priv_key=SecretRef(env="CMDB_TEST_SNMPD_PRIV"))


def _targets(agent: Endpoint, credential: str) -> dict[str, object]:
    return {"scope": "host", "port": agent.port, "targets": [{"seeds": [agent.host], "credentials": [credential]}]}


def _check_host(harness: Harness) -> None:
    graph = Graph(harness)
    assert graph.devices() == {("host", "snmpd-host.lab.example")}
    host = graph.cis[graph.device_uid("snmpd-host.lab.example")]
    assert host.attributes["os_name"] == "Linux"
    assert host.attributes["kernel"] == os.uname().release
    names = {n for _, n in graph.interfaces()}
    assert "lo" in names and names <= {n for _, n in socket.if_nameindex()}
    classes = {c.ci_class for c in graph.cis.values()}
    assert {"software_instance", "filesystem"} <= classes
    mounts = {c.attributes["mount_point"] for c in graph.cis.values() if c.ci_class == "filesystem"}
    assert "/" in mounts
    products = {c.attributes["product"] for c in graph.cis.values() if c.ci_class == "software_instance"}
    assert "snmpd" in products


def test_snmpd_over_v2c(snmpd_agent: Endpoint, harness: Harness) -> None:
    result = scan(harness, _targets(snmpd_agent, "v2"), {"v2": V2})
    assert result.status.value == "complete", result.errors
    _check_host(harness)


def test_snmpd_over_v3_auth_priv(snmpd_agent: Endpoint, harness: Harness) -> None:
    result = scan(harness, _targets(snmpd_agent, "v3"), {"v3": V3})
    assert result.status.value == "complete", result.errors
    _check_host(harness)


def test_snmpd_wrong_v3_credentials_give_clear_errors(snmpd_agent: Endpoint, harness: Harness) -> None:
    targets = {"scope": "host", "port": snmpd_agent.port, "targets": [
        {"seeds": [snmpd_agent.host], "credentials": ["v3-wrong"]},
        {"seeds": [f"localhost:{snmpd_agent.port}"], "credentials": ["v3-nouser"]},
    ]}
    result = scan(harness, targets, {"v3-wrong": V3_WRONG_AUTH, "v3-nouser": V3_UNKNOWN_USER})
    reasons = {o.address: (o.status, o.reason) for o in result.summary.outcomes}
    assert reasons == {
        f"127.0.0.1:{snmpd_agent.port}": ("failed", "v3-wrong: SNMPv3 authentication failed (wrong auth key or protocol)"),
        f"localhost:{snmpd_agent.port}": ("failed", "v3-nouser: SNMPv3 user unknown to the agent"),
    }
    joined = " ".join(result.errors)
    assert "not-the-auth-key" not in joined and SNMPD_V3["priv"] not in joined
    assert Graph(harness).devices() == set()
