"""The collection script run once per host as ``sh -s``, and its output splitter.

Every command runs in its own section between markers, so a missing command, a
failing one or one printing garbage spoils only its own section. The script
only reads; it never changes the host.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

BEGIN = "@@cmdb-begin "
END = "@@cmdb-end "

# (section name, shell command). Order is the order of the output.
# Installed Debian packages straight from dpkg's status file: one awk instead of dpkg-query (half the time).
_DPKG_AWK = (
    "awk '/^Package: /{p=$2} /^Version: /{v=$2} /^Architecture: /{a=$2} /^Status: /{s=$0}"
    " /^$/{if (s ~ / installed$/ && p != \"\") printf \"%s\\t%s\\t%s\\n\", p, v, a; p=v=a=s=\"\"}"
    " END{if (s ~ / installed$/ && p != \"\") printf \"%s\\t%s\\t%s\\n\", p, v, a}' /var/lib/dpkg/status"
)

# Shell functions (no fork): read small files with builtins only.
# $T bounds commands that can hang on a sick host (a resolver timeout in `hostname -f`, a stale
# NFS mount in `df`), when coreutils' timeout is there.
PRELUDE = """\
catf() { while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; done < "$1"; }
if command -v timeout >/dev/null 2>&1; then T="timeout 5"; else T=; fi
"""

# (section name, shell command). Order is the order of the output.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("hostname", "catf /proc/sys/kernel/hostname"),
    ("fqdn", "$T hostname -f"),
    ("os_release", "catf /etc/os-release"),
    ("uname", "uname -s -r -m"),
    ("nproc", "nproc"),
    ("meminfo", "catf /proc/meminfo"),
    ("uptime", "catf /proc/uptime"),
    ("machine_id", "catf /etc/machine-id"),
    ("dmi_uuid", "catf /sys/class/dmi/id/product_uuid"),
    ("cloud_instance_id", "catf /var/lib/cloud/data/instance-id"),
    ("init", "catf /proc/1/comm"),
    ("ip_addr", "ip -j addr show"),
    ("lsblk", "lsblk -J -b -o NAME,TYPE,SIZE,FSTYPE,MOUNTPOINT"),
    ("df", "$T df -P -T -k"),
    ("ss", 'if [ "$CMDB_SUDO_SS" = 1 ]; then sudo -n ss -tanpH || ss -tanpH; else ss -tanpH; fi'),
    (
        "packages",
        f"if [ -r /var/lib/dpkg/status ] && command -v awk >/dev/null; then {_DPKG_AWK};"
        " elif command -v dpkg-query >/dev/null; then dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\n';"
        " else rpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'; fi",
    ),
    ("ps", "ps -eo pid=,ppid=,user:32=,comm:32=,args="),
    ("ssh_connection", 'printf "%s\\n" "$SSH_CONNECTION"'),
    # lldpd, where it runs: what the host advertises (its chassis id) and the switch ports it hears.
    # Exit 1 without lldpcli: an absent command, not a failure.
    ("lldp_chassis", "command -v lldpcli >/dev/null 2>&1 && $T lldpcli -f json show chassis"),
    ("lldp_neighbors", "command -v lldpcli >/dev/null 2>&1 && $T lldpcli -f json show neighbors"),
)


def build_script(sudo_ss: bool = False, commands: tuple[tuple[str, str], ...] = COMMANDS) -> str:
    """Return the POSIX sh script that prints every section between markers.

    ``sudo_ss`` runs ``ss`` through ``sudo -n`` (a narrow sudoers rule) so that
    process names of other users' sockets are visible; without the rule it
    falls back to plain ``ss``.
    """
    lines = [
        "export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH",
        f"CMDB_SUDO_SS={1 if sudo_ss else 0}",
        PRELUDE,
    ]
    for name, command in commands:
        # The leading newline keeps the end marker at the start of a line even
        # when a command's output lacks a final newline.
        # A brace group, not a subshell: one fork less per section (commands never change shell state).
        lines.append(f"printf '{BEGIN}{name}\\n'; {{ {command}; }} 2>/dev/null </dev/null; printf '\\n{END}{name} %s\\n' $?")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Section:
    """One section of the script's output: its text and its exit status."""

    name: str
    text: str
    rc: int

    @property
    def ok(self) -> bool:
        return self.rc == 0


_PREFIX = "@@cmdb-"
_MARKER = re.compile(r"@@cmdb-(begin|end) (\S+)(?: (\S+))?[ \t]*$", re.MULTILINE)


def _markers(raw: str) -> Iterator[re.Match[str]]:
    """Every marker line, in order: a marker is only a marker at the start of a line.

    The prefix is found with ``str.find`` and the marker pattern tried only there: a pattern
    anchored at every line start would be tried at every character of the output (~40 KB).
    """
    pos = raw.find(_PREFIX)
    while pos >= 0:
        if pos == 0 or raw[pos - 1] == "\n":
            match = _MARKER.match(raw, pos)
            if match is not None:
                yield match
        pos = raw.find(_PREFIX, pos + 1)


def split_sections(raw: str) -> dict[str, Section]:
    """Split the script's output into sections by name.

    Sections whose end marker is missing (output cut by a deadline) get rc -1.
    Text outside markers is ignored. Only the marker lines are scanned, not every line.
    """
    sections: dict[str, Section] = {}
    current: str | None = None
    body_start = 0
    for match in _markers(raw):
        kind, name, status = match.groups()
        if kind == "begin":
            if current is not None:
                sections[current] = Section(current, _join(raw[body_start:match.start()]), -1)
            current, body_start = name, match.end() + 1
        elif current is not None:
            rc = -1
            if name == current and status is not None:
                try:
                    rc = int(status)
                except ValueError:
                    rc = -1
            sections[current] = Section(current, _join(raw[body_start:match.start()]), rc)
            current = None
    if current is not None:
        sections[current] = Section(current, _join(raw[body_start:]), -1)
    return sections


def _join(text: str) -> str:
    # Drop the newline the end marker's printf added (and the line break before the marker).
    if text.endswith("\n"):
        text = text[:-1]
    return text[:-1] if text.endswith("\n") else text
