"""Process names and well-known ports -> product names for software instances."""

from __future__ import annotations

import re

# Process name (as ``ss``/``ps`` report it, 15 characters at most) -> product.
PROCESS_PRODUCTS: dict[str, str] = {
    "postgres": "postgresql",
    "postmaster": "postgresql",
    "nginx": "nginx",
    "redis-server": "redis",
    "redis-sentinel": "redis-sentinel",
    "sshd": "openssh",
    "java": "java",
    "mysqld": "mysql",
    "mariadbd": "mariadb",
    "httpd": "apache-httpd",
    "apache2": "apache-httpd",
    "haproxy": "haproxy",
    "memcached": "memcached",
    "mongod": "mongodb",
    "node": "nodejs",
    "dockerd": "docker",
    "containerd": "containerd",
    "etcd": "etcd",
    "kubelet": "kubelet",
    "rabbitmq-server": "rabbitmq",
    "beam.smp": "erlang-beam",
    "named": "bind",
    "dnsmasq": "dnsmasq",
    "chronyd": "chrony",
    "ntpd": "ntp",
    "psql": "postgresql-client",
    "redis-cli": "redis-client",
    "curl": "curl",
    "socat": "socat",
    "nc": "netcat",
    "ncat": "netcat",
}
_PYTHON = re.compile(r"^python[0-9.]*$")

# Used only when ``ss`` could not name the listening process (no root, no sudo).
PORT_PRODUCTS: dict[int, str] = {
    22: "openssh",
    25: "smtp",
    53: "dns",
    80: "http",
    443: "https",
    3306: "mysql",
    5432: "postgresql",
    5672: "rabbitmq",
    6379: "redis",
    8080: "http",
    9200: "elasticsearch",
    11211: "memcached",
    27017: "mongodb",
}


def product_for_process(name: str) -> str:
    """The product a process name stands for (the name itself when unknown)."""
    if name in PROCESS_PRODUCTS:
        return PROCESS_PRODUCTS[name]
    if _PYTHON.match(name):
        return "python"
    return name


def product_for_port(port: int) -> str:
    """A product guessed from a listening port when the process is unknown."""
    return PORT_PRODUCTS.get(port, f"tcp-{port}")
