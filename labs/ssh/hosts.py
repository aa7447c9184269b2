"""A lab of real Linux "hosts" on one machine: network namespaces, each with its own sshd.

Used by the integration tests, the benchmark and the demo. Needs root, ``ip``,
``unshare``, ``nsenter`` and OpenSSH's ``sshd``.

Each host is a network namespace joined to a bridge in a hub namespace, with
its own address (``<net>.<n>/24``, optionally extra addresses), and an ``sshd``
running as PID 1 of its own PID, UTS and mount namespaces: its own hostname, its
own ``/etc/machine-id`` and ``/etc/hosts`` (bind-mounted, so ``hostname -f``
answers an FQDN), and a process table that shows only what runs on that host.
The scanner reaches the hosts from a "scanner" namespace (``<net>.254``): the
:meth:`Lab.connector` opens sockets inside it. Nothing is addressed outside the
namespaces the lab creates; :meth:`Lab.stop` kills what it started by PID and
deletes every namespace, even after a failure.

Usage::

    with Lab(Path(tmp), net="10.250.7") as lab:
        db = lab.add_host("db1")
        lab.start()
        db.spawn(["/usr/bin/sleep", "60"])
        inventory = lab.inventory([db])
        scanner = SSHScanner(inventory, connector=lab.connector)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import yaml

from discovery.ssh.hostkeys import HostKeyMode
from discovery.ssh.inventory import Credentials, HostEntry, HostKeysConfig, Inventory, Target
from discovery.ssh.netns import NamespaceConnector

SSHD = "/usr/sbin/sshd"
DMI_UUID = "/sys/class/dmi/id/product_uuid"

SSHD_CONFIG = """\
Port 22
ListenAddress 0.0.0.0
HostKey {dir}/ssh_host_ed25519_key
PidFile {dir}/sshd.pid
AuthorizedKeysFile {keys}/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
MaxStartups 500:30:1000
MaxSessions 100
LogLevel ERROR
"""


def _sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=check, capture_output=True, text=True, timeout=30)



def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _wait_gone(pids: list[int], timeout: float = 5.0) -> None:
    """Wait until each PID has exited (gone, or a zombie awaiting its reaper)."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                break
            if state in ("Z", "X"):
                break
            time.sleep(0.02)


@dataclass
class LabHost:
    """One namespace host: its name, address(es), identity and sshd process."""

    name: str
    index: int
    ns: str
    address: str
    fqdn: str
    machine_id: str
    dir: Path
    extra_addresses: list[str] = field(default_factory=list)
    host_key: asyncssh.SSHKey | None = None
    proc: subprocess.Popen[bytes] | None = None
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    cleanup: list[Path] = field(default_factory=list)  # directories outside the lab's workdir to remove

    @property
    def init_pid(self) -> int:
        """PID (in the root PID namespace) of the host's sshd, PID 1 of its own namespaces."""
        assert self.proc is not None
        for _ in range(200):
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            if kids:
                return int(kids[0])
            time.sleep(0.01)
        raise RuntimeError(f"{self.name}: sshd did not start")

    @property
    def fingerprint(self) -> str:
        assert self.host_key is not None
        return self.host_key.get_fingerprint("sha256")

    def _enter(self, argv: list[str]) -> list[str]:
        return ["nsenter", "-t", str(self.init_pid), "-n", "-u", "-m", "-p", "--", *argv]

    def spawn(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start a long-lived process inside the host; it is stopped with the host."""
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        proc = subprocess.Popen(self._enter(argv), **kwargs)
        self.children.append(proc)
        return proc

    def run(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command inside the host and wait for it."""
        return subprocess.run(self._enter(argv), capture_output=True, text=True, timeout=timeout, check=False)


class Lab:
    """A set of namespace hosts sharing one bridge, reachable from a scanner namespace."""

    def __init__(self, workdir: Path, net: str = "10.250.7", prefix: str | None = None, domain: str = "lab.test",
                 login_users: tuple[str, ...] = ()) -> None:
        """``login_users``: existing system accounts (e.g. ``postgres``) that may log in with the lab key.

        Their locked password field is unlocked in a copy of /etc/shadow bind-mounted inside each
        host only; the machine's own /etc/shadow is not touched.
        """
        self.workdir = Path(workdir)
        self.login_users = login_users
        self.net = net
        self.prefix = prefix or f"c5{secrets.token_hex(2)}"
        self.domain = domain
        self.hosts: list[LabHost] = []
        self.namespaces: list[str] = []
        self.client_key_path = self.workdir / "client_ed25519"
        self._connector = NamespaceConnector(f"{self.prefix}-scan")
        self.scanner_address = f"{net}.254"
        self._keys_dir: Path | None = None

    # -- building -------------------------------------------------------------------
    def add_host(self, name: str, extra_addresses: int = 0) -> LabHost:
        """Declare a host (call before :meth:`start`). Extra addresses come from ``<net+1>.x``."""
        index = len(self.hosts) + 1
        a, b, c = self.net.split(".")
        extra_base = f"{a}.{b}.{int(c) + 1}"
        first_extra = sum(len(h.extra_addresses) for h in self.hosts) + 1
        extras = [f"{extra_base}.{first_extra + i}" for i in range(extra_addresses)]
        if first_extra + extra_addresses > 254:
            raise ValueError("at most 253 extra addresses per lab")
        host = LabHost(
            name=name, index=index, ns=f"{self.prefix}-{name}", address=f"{self.net}.{index}",
            fqdn=f"{name}.{self.domain}", machine_id=secrets.token_hex(16), dir=self.workdir / name,
            extra_addresses=extras,
        )
        self.hosts.append(host)
        return host

    def start(self) -> None:
        """Create the namespaces, the bridge, the addresses and every host's sshd; wait until they answer."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        key.write_private_key(str(self.client_key_path))
        os.chmod(self.client_key_path, 0o600)
        pub = key.export_public_key("openssh").decode()
        # sshd reads authorized_keys as the logging-in user: for accounts other than root keep it
        # where any account can read it (a private temp tree would refuse them).
        if self.login_users:
            self._keys_dir = Path(tempfile.mkdtemp(prefix="cmdb-lab-keys-"))
            os.chmod(self._keys_dir, 0o755)
        keys_dir = self._keys_dir or self.workdir
        (keys_dir / "authorized_keys").write_text(pub)
        os.chmod(keys_dir / "authorized_keys", 0o644)
        hub = self._netns(f"{self.prefix}-hub")
        _sh("ip", "-n", hub, "link", "add", "br0", "type", "bridge")
        _sh("ip", "-n", hub, "link", "set", "br0", "up")
        a, b, c = self.net.split(".")
        extra_net = f"{a}.{b}.{int(c) + 1}"
        scan = self._netns(f"{self.prefix}-scan")
        self._wire(hub, scan, "s", [f"{self.scanner_address}/24", f"{extra_net}.254/24"])
        hosts_file = "127.0.0.1 localhost\n" + "".join(f"{h.address} {h.fqdn} {h.name}\n" for h in self.hosts)
        for h in self.hosts:
            h.dir.mkdir(parents=True, exist_ok=True)
            ns = self._netns(h.ns)
            self._wire(hub, ns, str(h.index), [f"{h.address}/24", *(f"{x}/24" for x in h.extra_addresses)])
            h.host_key = asyncssh.generate_private_key("ssh-ed25519")
            h.host_key.write_private_key(str(h.dir / "ssh_host_ed25519_key"))
            os.chmod(h.dir / "ssh_host_ed25519_key", 0o600)
            (h.dir / "machine-id").write_text(h.machine_id + "\n")
            (h.dir / "hosts").write_text(hosts_file)
            (h.dir / "sshd_config").write_text(SSHD_CONFIG.format(dir=h.dir, keys=keys_dir))
            shadow = ""
            if self.login_users:
                self._write_shadow(h.dir / "shadow")
                shadow = f" && mount --bind {h.dir}/shadow /etc/shadow"
            # bash started by sshd sources ~/.bashrc even for `bash -c`: the build machine's root rc
            # (here a pyenv init spawning ~100 processes per session) is not part of a lab host.
            rc = ""
            if Path("/root/.bashrc").is_file():
                (h.dir / "bashrc").write_text("")
                rc = f" && mount --bind {h.dir}/bashrc /root/.bashrc"
            # Each lab host is its own machine: its own BIOS/DMI UUID too, where this machine has one
            # (an identifier rule of host: shared, it would make the lab hosts one CI).
            dmi = ""
            if Path(DMI_UUID).is_file():
                (h.dir / "product_uuid").write_text(str(uuid.uuid4()) + "\n")
                dmi = f" && {{ mount --bind {h.dir}/product_uuid {DMI_UUID} || true; }}"
            boot = (
                f"hostname {shlex.quote(h.name)} && mount --bind {h.dir}/machine-id /etc/machine-id"
                f" && mount --bind {h.dir}/hosts /etc/hosts{shadow}{rc}{dmi}"
                f" && exec {SSHD} -D -e -f {h.dir}/sshd_config"
            )
            h.proc = subprocess.Popen(
                ["ip", "netns", "exec", ns, "unshare", "--uts", "--mount", "--pid", "--fork", "--kill-child",
                 "--mount-proc", "sh", "-c", boot],
                stdout=subprocess.DEVNULL, stderr=open(h.dir / "sshd.log", "wb"),  # noqa: SIM115
            )
        for h in self.hosts:
            self._wait_ssh(h)

    def _write_shadow(self, path: Path) -> None:
        lines = []
        for line in Path("/etc/shadow").read_text().splitlines():
            fields = line.split(":")
            if fields[0] in self.login_users and fields[1].startswith("!"):
                fields[1] = "*"  # no password, but not locked: public-key login works
            lines.append(":".join(fields))
        path.write_text("\n".join(lines) + "\n")
        shutil.copystat("/etc/shadow", path)
        st = os.stat("/etc/shadow")
        os.chown(path, st.st_uid, st.st_gid)

    def _netns(self, name: str) -> str:
        _sh("ip", "netns", "del", name, check=False)  # a leftover of a crashed run of this same lab
        _sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        _sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def _wire(self, hub: str, ns: str, tag: str, addresses: list[str]) -> None:
        outer, inner = f"{self.prefix}{tag}o", f"{self.prefix}{tag}i"
        _sh("ip", "-n", hub, "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns)
        _sh("ip", "-n", hub, "link", "set", outer, "master", "br0", "up")
        _sh("ip", "-n", ns, "link", "set", inner, "name", "eth0")
        for addr in addresses:
            _sh("ip", "-n", ns, "addr", "add", addr, "dev", "eth0")
        _sh("ip", "-n", ns, "link", "set", "eth0", "up")

    def _wait_ssh(self, host: LabHost, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if host.proc is not None and host.proc.poll() is not None:
                raise RuntimeError(f"{host.name}: sshd exited: {(host.dir / 'sshd.log').read_text()[-500:]}")
            with contextlib.suppress(OSError):
                sock = self._connector.open_socket()
                sock.settimeout(0.5)
                try:
                    sock.connect((host.address, 22))
                    if sock.recv(4).startswith(b"SSH-"):
                        return
                finally:
                    sock.close()
            time.sleep(0.05)
        raise RuntimeError(f"{host.name}: sshd did not answer within {timeout}s")

    # -- reaching the hosts --------------------------------------------------------------
    async def connector(self, target: Target) -> socket.socket:
        """Open a TCP connection to ``target`` from inside the scanner namespace."""
        return await self._connector(target)

    def inventory(self, hosts: list[LabHost] | None = None, scope: str = "lab", **overrides: Any) -> Inventory:
        """An inventory of ``hosts`` (all by default) using the lab's key, trusting the hosts' real keys."""
        hosts = self.hosts if hosts is None else hosts
        store = self.workdir / f"fingerprints-{scope}.json"
        store.write_text(json.dumps({h.name: [h.fingerprint] for h in hosts}))
        data: dict[str, Any] = {
            "scope": scope,
            "defaults": Credentials(user="root", port=22, key_file=str(self.client_key_path)),
            "host_keys": HostKeysConfig(mode=HostKeyMode.FINGERPRINTS, file=str(store)),
            "hosts": [HostEntry(name=h.name, address=h.address) for h in hosts],
            "deadline_s": 20.0,
            "connect_timeout_s": 10.0,
        }
        data.update(overrides)
        return Inventory(**data)

    @property
    def scanner_netns(self) -> str:
        """The namespace the scanner connects from (``cmdb discover hosts --netns ...``)."""
        return f"{self.prefix}-scan"

    def write_inventory(self, path: Path, hosts: list[LabHost] | None = None, scope: str = "lab") -> Path:
        """Write a YAML inventory of ``hosts`` (all by default) for ``cmdb discover hosts``, with pinned host keys."""
        hosts = self.hosts if hosts is None else hosts
        path = Path(path)
        fps = path.with_suffix(".fingerprints.json")
        fps.write_text(json.dumps({h.name: [h.fingerprint] for h in hosts}, indent=1))
        path.write_text(yaml.safe_dump({
            "scope": scope,
            "defaults": {"user": "root", "key_file": str(self.client_key_path)},
            "host_keys": {"mode": "fingerprints", "file": str(fps)},
            "hosts": [{"name": h.name, "address": h.address} for h in hosts],
            "connect_timeout_s": 10,
            "deadline_s": 30,
        }, sort_keys=False))
        return path

    # -- teardown ---------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every process this lab started (by PID) and delete every namespace it made."""
        for h in self.hosts:
            for child in h.children:
                if child.poll() is None:
                    child.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(5)
            if h.proc is not None and h.proc.poll() is None:
                pid1 = _children(h.proc.pid)
                # unshare --kill-child ignores SIGTERM while it waits; SIGKILL makes the kernel kill its child,
                # the host's PID 1, and with it the host's whole PID namespace (workloads included).
                h.proc.kill()
                h.proc.wait(10)
                _wait_gone(pid1)
        for path in [*(p for h in self.hosts for p in h.cleanup), *([self._keys_dir] if self._keys_dir else [])]:
            shutil.rmtree(path, ignore_errors=True)
        self._connector.close()
        for ns in reversed(self.namespaces):
            _sh("ip", "netns", "del", ns, check=False)
        self.namespaces.clear()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
