#!/usr/bin/env bash
# Installs what the tests and the demo need outside Python: OpenSSH server and
# iproute2 (lab hosts in network namespaces), net-snmp (a real SNMP agent), a
# real database server for the dependency-mapping lab, Neo4j's Cypher linter (npm), a local
# Neo4j built with Maven (tools/neo4j), vcsim built with Go,
# Debian's Chromium and chromedriver (the web interface's browser tests) and the web
# interface itself (npm ci + build), Prometheus (promtool checks the shipped alert rules) and nginx
# (the load balancer in front of API replicas in the scale-out test). Idempotent: only what is missing is installed.
# Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(openssh-server openssh-client iproute2 snmpd snmp postgresql redis-server procps util-linux
              chromium chromium-driver openssl prometheus nginx-light)

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

# The web interface and GraphiQL (/ui, /graphql): npm packages pinned by ui/package-lock.json,
# built into graph_api/static/ui (package data, never committed). Rebuilt when a source or the
# lock file is newer than the build.
ui_stamp=graph_api/static/ui/versions.json
if [ -f ui/package-lock.json ]; then
  if [ ! -d ui/node_modules/cytoscape ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    echo "system-deps: installing the web interface's npm packages"
    npm ci --prefix ui --no-audit --no-fund --loglevel=error
  fi
  if [ ! -f "$ui_stamp" ] || [ -n "$(find ui/src ui/build.mjs ui/package-lock.json -newer "$ui_stamp" -print -quit)" ]; then
    echo "system-deps: building the web interface"
    npm run --prefix ui --silent build >/dev/null
  fi
fi

# govmomi's vCenter simulator for the vSphere tests, bench and demo, built with Go from the
# Go module proxy (v0.46.3: later releases moved vcsim out of the root module). Not committed.
VCSIM_VERSION=v0.46.3
if [ ! -x tools/vcsim/bin/vcsim ] || [ "$(cat tools/vcsim/bin/.version 2>/dev/null)" != "$VCSIM_VERSION" ]; then
  if ! command -v go >/dev/null; then
    echo "system-deps: go is missing; install Go to build vcsim (the vSphere tests need it)" >&2
    exit 1
  fi
  echo "system-deps: building vcsim $VCSIM_VERSION (go install)"
  mkdir -p tools/vcsim/bin
  if ! out=$(GOBIN="$PWD/tools/vcsim/bin" GOFLAGS=-mod=mod go install "github.com/vmware/govmomi/vcsim@$VCSIM_VERSION" 2>&1); then
    echo "$out" >&2
    exit 1
  fi
  echo "$VCSIM_VERSION" > tools/vcsim/bin/.version
fi

# A local Neo4j (5.26 LTS Community, embedded, Bolt on 127.0.0.1) for the tests, the demo
# and the benchmarks: tools/neo4j, built with Maven into target/classes + target/lib.
# Needs Java 17 and Maven; Maven's downloads are cached in ~/.m2. Rebuilt only when the
# launcher's sources are newer than the last build.
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: Java 17 and Maven are missing; run as root (or: sudo apt-get install -y openjdk-17-jdk-headless maven)" >&2
    exit 1
  fi
  echo "system-deps: installing Java 17 and Maven"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless maven >/dev/null
fi
NEO4J_STAMP=tools/neo4j/target/.built
if [ ! -f "$NEO4J_STAMP" ] || [ -n "$(find tools/neo4j/pom.xml tools/neo4j/src -newer "$NEO4J_STAMP" -print -quit)" ]; then
  echo "system-deps: building the local Neo4j launcher (tools/neo4j)"
  rm -rf tools/neo4j/target
  # Offline first (everything cached in ~/.m2), else with Maven Central.
  mvn -q -B -o -f tools/neo4j/pom.xml package >/dev/null 2>&1 \
    || mvn -q -B -f tools/neo4j/pom.xml package
  touch "$NEO4J_STAMP"
fi
