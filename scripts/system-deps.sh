#!/usr/bin/env bash
# Installs what the tests and the demo need outside Python: OpenSSH server and
# iproute2 (lab hosts in network namespaces), net-snmp (a real SNMP agent), a
# real database server for the dependency-mapping lab, and Neo4j's Cypher linter
# (npm), and Prometheus (promtool checks the shipped alert rules). Idempotent: only what is missing is installed. Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(openssh-server openssh-client iproute2 snmpd snmp postgresql redis-server procps util-linux prometheus)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: missing ${missing[*]}; run as root (or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "system-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d on these images keeps the packages from starting their daemons.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f tools/cypher-lint/package-lock.json ] && [ ! -d tools/cypher-lint/node_modules/@neo4j-cypher ]; then
  echo "system-deps: installing Neo4j's Cypher linter (npm)"
  npm ci --prefix tools/cypher-lint --no-audit --no-fund --loglevel=error
fi
