from __future__ import annotations

import pytest

from discovery.ssh.facts import Address, SocketProcess
from discovery.ssh.parsers import parse_host, parse_packages, parse_ss, split_endpoint
from tests.unit.discovery.ssh.ssh_recordings import MACHINE_IDS, lab_facts, raw, replace_section


def test_lab_host_identity_os_and_sizes() -> None:
    facts = lab_facts("db1")
    assert facts.errors == []
    assert (facts.hostname, facts.fqdn, facts.machine_id) == ("db1", "db1.lab.test", MACHINE_IDS["db1"])
    assert facts.os is not None and (facts.os.id, facts.os.version) == ("debian", "12")
    assert (facts.architecture, facts.kernel) == ("x86_64", "6.18.44-fc-v657")  # the recording's uname
    assert (facts.cpu_count, facts.memory_mb) == (2, 24684092 // 1024)  # MemTotal: 24684092 kB, in whole MB
    assert facts.init == "sshd"  # no systemd: PID 1 of the namespace host is sshd
    assert facts.dmi_uuid is None and facts.instance_id is None


def test_interfaces_and_addresses() -> None:
    facts = lab_facts("app1")
    by_name = {i.name: i for i in facts.interfaces}
    assert set(by_name) == {"lo", "eth0"}
    assert [a for a in by_name["eth0"].addresses if a.version == 4] == [Address("10.250.9.2", 24, 4)]
    assert (by_name["eth0"].mac, by_name["eth0"].oper_status) == ("ee:fa:fa:75:6a:52", "up")


def test_listeners_and_connections_with_processes() -> None:
    facts = lab_facts("db1")
    listen = {(s.local_addr, s.local_port, s.process.name if s.process else None)
              for s in facts.sockets if s.state == "LISTEN"}
    assert listen == {("0.0.0.0", 22, "sshd"), ("0.0.0.0", 5432, "postgres"), ("::", 5432, "postgres")}
    estab = {(s.peer_addr, s.local_port) for s in facts.sockets if s.state == "ESTAB"}
    assert estab == {("10.250.9.254", 22), ("10.250.9.2", 5432)}
    assert facts.ssh_connection == ("10.250.9.254", 60772, "10.250.9.1", 22)


def test_packages_and_processes() -> None:
    facts = lab_facts("app1")
    pkgs = {p.name: p for p in facts.packages}
    assert (pkgs["openssh-server"].version, pkgs["postgresql-15"].architecture) == ("1:9.2p1-2+deb12u10", "amd64")
    assert {p.name for p in facts.processes} == {"sshd", "python3", "psql", "sh", "ps"}


def test_real_vm_recording() -> None:
    facts = parse_host(raw("debian12-vm"))
    assert facts.errors == []
    assert facts.fqdn is None  # `hostname -f` gave a bare name
    assert [(f.mount_point, f.fs_type) for f in facts.filesystems] == [("/", "ext4")]  # pseudo filesystems dropped
    assert {b.name for b in facts.block_devices} == {"zram0", "vda"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.1:80", ("10.0.0.1", 80)),
        ("[::1]:5432", ("::1", 5432)),
        ("*:22", ("0.0.0.0", 22)),
        ("127.0.0.53%lo:53", ("127.0.0.53", 53)),
        ("[::ffff:10.0.0.2]:443", ("10.0.0.2", 443)),
        ("0.0.0.0:*", ("0.0.0.0", 0)),
    ],
)
def test_endpoints(text: str, expected: tuple[str, int]) -> None:
    assert split_endpoint(text) == expected


def test_ss_with_several_processes_on_one_socket() -> None:
    line = 'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=12,fd=6),("nginx",pid=11,fd=6))'
    (sock,) = parse_ss(line)
    assert sock.processes == (SocketProcess("nginx", 12), SocketProcess("nginx", 11))


def test_garbage_and_failures_are_reported_per_section_and_the_rest_is_kept() -> None:
    text = raw("lab-db1")
    text = replace_section(text, "ss", "Segmentation fault\x00\x01 garbage here")
    text = replace_section(text, "ip_addr", "", rc=2)
    text = replace_section(text, "packages", "", rc=127)  # neither dpkg nor rpm: not an error
    text = replace_section(text, "machine_id", "not-a-machine-id")
    facts = parse_host(text)
    assert {e.split(":")[0] for e in facts.errors} == {"ss", "ip_addr", "machine_id"}
    assert "unparseable output" in next(e for e in facts.errors if e.startswith("ss"))
    assert "command failed (exit 2)" in next(e for e in facts.errors if e.startswith("ip_addr"))
    assert facts.hostname == "db1" and facts.machine_id is None and len(facts.packages) == 0
    assert facts.sockets == [] and not facts.sockets_ok


def test_output_that_is_not_the_script_at_all() -> None:
    facts = parse_host("Welcome to a restricted shell\n$ ")
    assert facts.errors == ["no recognisable output from the collection script"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zstd\t1.5.4\tamd64\nlibc6\t2.36-9\tamd64", [("zstd", "1.5.4", "amd64"), ("libc6", "2.36-9", "amd64")]),
        ("gone\t\tamd64\nzstd\t1.5.4\tamd64", [("zstd", "1.5.4", "amd64")]),  # removed, config kept: no version
        ("zstd\t1.5.4\tamd64\n\n  \nlibc6\t2.36\tamd64\n", [("zstd", "1.5.4", "amd64"), ("libc6", "2.36", "amd64")]),
        ("zstd\t1.5.4\tamd64\r\nlibc6\t2.36\tamd64", [("zstd", "1.5.4", "amd64"), ("libc6", "2.36", "amd64")]),
        ("", []),
    ],
)
def test_package_lines(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert [tuple(p) for p in parse_packages(text)] == expected
    assert list(parse_packages(text).rows()) == expected


@pytest.mark.parametrize(
    "text",
    ["zstd\t1.5.4\tamd64\nnot a package line", "zstd\t1.5.4\tamd64\n\t1.0\tamd64", "zstd\t1.5\tamd64\textra",
     "zstd\t1.5.4\u2028\tamd64", "zstd\t1.5.4\tamd64\n \t1.0\tamd64"],
)
def test_bad_package_lines_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a package line"):
        parse_packages(text)


def test_a_blank_package_name_spoils_the_packages_section_only() -> None:
    text = replace_section(raw("lab-db1"), "packages", "zstd\t1.5.4\tamd64\n \t1.0\tamd64")
    facts = parse_host(text)
    assert [e.split(":")[0] for e in facts.errors] == ["packages"]
    assert len(facts.packages) == 0 and facts.hostname == "db1" and facts.sockets_ok


def test_a_blank_process_name_on_a_socket_is_dropped_and_the_socket_kept() -> None:
    text = raw("lab-db1")
    ss = text.split("@@cmdb-begin ss\n")[1].split("@@cmdb-end ss")[0].rstrip("\n")
    blank = ss.replace('users:(("sshd",pid=1,fd=3))', 'users:(("  ",pid=1,fd=3))', 1)
    assert blank != ss
    facts = parse_host(replace_section(text, "ss", blank))
    assert facts.errors == [] and facts.sockets_ok
    listener = next(s for s in facts.sockets if s.state == "LISTEN" and s.local_port == 22)
    assert listener.processes == ()
