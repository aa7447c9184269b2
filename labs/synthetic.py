"""A synthetic but realistic enterprise, emitted as observations from overlapping sources.

The estate is a set of applications, each behind a load balancer and a target
group of instances, with a database, volumes, interfaces, addresses, packages
and the software instances that run on the hosts, grouped into business
services with owners, plus on-prem racks of switches and servers. Three sources
see it the way real scanners would, overlapping: ``aws`` sees the cloud
resources, ``ssh`` sees the same instances from inside (machine id, instance id,
software, traffic dependencies), ``snmp`` sees the on-prem network. The
generator also returns its ground truth: the real CIs and relationships the
ingest must end with, after merging what several sources saw of one thing.

Everything is deterministic for a given seed and lazily generated, so a million
CIs stream through the ingest without being held in memory at once.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

from cmdb.observation import CIRef, Evidence, Item, Method, Observation, ObservedRelation
from discovery.base import Progress, ProgressHook, ScopeResult

_BASE_TIME = 1_767_225_600_000  # 2026-01-01T00:00:00Z, so generated estates are reproducible


@dataclass(frozen=True, slots=True)
class EstateSpec:
    """How big the estate is. ``apps`` drives everything; ``mesh`` adds traffic edges."""

    apps: int = 40
    instances_per_app: int = 3
    packages_per_host: int = 3
    accounts: int = 2
    regions: tuple[str, ...] = ("eu-west-1", "us-east-1")
    apps_per_service: int = 4
    mesh: int = 1  # traffic dependencies from each software instance to other apps
    racks: int = 2
    servers_per_rack: int = 4
    seed: int = 7

    @classmethod
    def for_size(cls, cis: int, rels_per_ci: float = 4.0, seed: int = 7) -> EstateSpec:
        """A spec of about ``cis`` CIs and ``rels_per_ci`` relationships per CI."""
        per_app = 34  # CIs one application brings with the defaults below
        apps = max(4, cis // per_app)
        # Each mesh unit adds instances_per_app traffic edges per app; the rest of
        # the model carries about 1.45 relationships per CI.
        mesh = max(0, round((rels_per_ci - 1.45) * per_app / 3))
        return cls(apps=apps, mesh=mesh, racks=max(2, apps // 50), seed=seed)


@dataclass(slots=True)
class GroundTruth:
    """The CIs and relationships the estate really has, by stable natural keys."""

    cis: set[tuple[str, str]] = field(default_factory=set)  # (class, natural key)
    relationships: set[tuple[str, str, str]] = field(default_factory=set)  # (from key, type, to key)


def _ref(cls: str, parent: CIRef | None = None, **ids: str | int) -> CIRef:
    return CIRef(ci_class=cls, identifiers=ids, parent=parent)


class _Stream:
    """Builds the items of one (source, scope) and records ground truth."""

    def __init__(self, source: str, scope: str, truth: GroundTruth | None, observed_at: int) -> None:
        self.source = source
        self.scope = scope
        self.truth = truth
        self.observed_at = observed_at

    def ci(self, cls: str, key: str, ids: dict[str, str | int], attrs: dict[str, object] | None = None,
           parent: CIRef | None = None, truth_class: str | None = None) -> Observation:
        if self.truth is not None:
            self.truth.cis.add((truth_class or cls, key))
        return Observation(source=self.source, scope=self.scope, ci_class=cls, identifiers=ids,
                           attributes=attrs or {}, parent=parent, observed_at=self.observed_at)

    def truth_rel(self, a_key: str, rel_type: str, b_key: str) -> None:
        """Record a relationship the pipeline derives itself (a dependent CI's CONTAINS)."""
        if self.truth is not None:
            self.truth.relationships.add((a_key, rel_type, b_key))

    def rel(self, rel_type: str, a: CIRef, b: CIRef, a_key: str, b_key: str,
            method: Method = Method.DECLARED, confidence: float = 1.0) -> ObservedRelation:
        if self.truth is not None:
            self.truth.relationships.add((a_key, rel_type, b_key))
        return ObservedRelation(source=self.source, scope=self.scope, type=rel_type, from_ci=a, to_ci=b,
                                evidence=Evidence(method=method, confidence=confidence),
                                observed_at=self.observed_at)


class SyntheticEstate:
    """Generates the estate's observation streams; see the module docstring."""

    def __init__(self, spec: EstateSpec, source_names: dict[str, str] | None = None,
                 observed_at: int = _BASE_TIME) -> None:
        self.spec = spec
        self.names = {"catalog": "sample", "aws": "aws", "ssh": "ssh", "snmp": "snmp", **(source_names or {})}
        self.observed_at = observed_at
        self.truth = GroundTruth()

    # -- layout --------------------------------------------------------------------------
    def _placement(self, app: int) -> tuple[str, str]:
        spec = self.spec
        account = f"{100000000000 + app % spec.accounts:012d}"
        region = spec.regions[(app // spec.accounts) % len(spec.regions)]
        return account, region

    def scopes(self) -> list[tuple[str, str]]:
        """(logical source, scope) pairs in the order they are emitted."""
        spec = self.spec
        cloud = sorted({self._placement(a) for a in range(spec.apps)})
        result = [("catalog", "business")]
        result += [("aws", f"{acct}/{region}") for acct, region in cloud]
        result += [("ssh", f"hosts/{acct}/{region}") for acct, region in cloud]
        result.append(("snmp", "onprem"))
        return result

    def streams(self) -> Iterator[tuple[str, str, Iterator[Item]]]:
        """(source name, scope, lazily generated items) for every scope of the estate."""
        for logical, scope in self.scopes():
            source = self.names[logical]
            stream = _Stream(source, scope, self.truth, self.observed_at)
            if logical == "catalog":
                yield source, scope, self._catalog(stream)
            elif logical == "aws":
                acct, region = scope.split("/")
                yield source, scope, self._aws(stream, acct, region)
            elif logical == "ssh":
                _, acct, region = scope.split("/")
                yield source, scope, self._ssh(stream, acct, region)
            else:
                yield source, scope, self._snmp(stream)

    def _apps_in(self, acct: str, region: str) -> list[int]:
        return [a for a in range(self.spec.apps) if self._placement(a) == (acct, region)]

    # -- the business layer and the sites, as the service catalog declares them ----------------------
    def _catalog(self, s: _Stream) -> Iterator[Item]:
        spec = self.spec
        for app in range(spec.apps):
            svc = app // spec.apps_per_service
            app_name = f"app-{app:05d}"
            service_name = f"service-{svc:04d}"
            if app % spec.apps_per_service == 0:
                yield s.ci("business_service", service_name, {"name": service_name},
                           {"owner": f"team-{svc:04d}", "criticality": ["high", "medium", "low"][svc % 3]})
            yield s.ci("application", app_name, {"name": app_name}, {"owner": f"team-{svc:04d}"})
            yield s.rel("DEPENDS_ON", _ref("business_service", name=service_name), _ref("application", name=app_name),
                        service_name, app_name)
        yield s.ci("location", "dc1", {"site_code": "dc1"}, {"name": "Primary datacenter", "kind": "site"})
        for r in range(spec.racks):
            rack_code = f"dc1-r{r:03d}"
            yield s.ci("rack", rack_code, {"site_code": rack_code}, {"name": f"rack {r}"})
            yield s.rel("LOCATED_IN", _ref("rack", site_code=rack_code), _ref("location", site_code="dc1"),
                        rack_code, "dc1")

    # -- the cloud, as the AWS scanner sees it ---------------------------------------------------
    def _aws(self, s: _Stream, acct: str, region: str) -> Iterator[Item]:
        spec = self.spec
        rng = random.Random(f"{spec.seed}/{acct}/{region}")
        vpc_id = f"vpc-{acct[-4:]}{region[:2]}"
        account = _ref("cloud_account", account_id=acct)
        region_ref = _ref("cloud_region", parent=account, region=region)
        vpc = _ref("vpc", network_id=vpc_id)
        yield s.ci("cloud_account", acct, {"account_id": acct}, {"name": f"acct-{acct[-4:]}", "provider": "aws"})
        yield s.ci("cloud_region", f"{acct}/{region}", {"region": region}, {"name": region}, parent=account)
        s.truth_rel(acct, "CONTAINS", f"{acct}/{region}")
        yield s.ci("vpc", vpc_id, {"network_id": vpc_id}, {"name": f"{region}-main", "cidr": "10.0.0.0/16"})
        yield s.rel("CONTAINS", region_ref, vpc, f"{acct}/{region}", vpc_id)
        subnets = []
        for z in range(3):
            subnet_id = f"subnet-{vpc_id[4:]}{z}"
            subnets.append(subnet_id)
            yield s.ci("subnet", subnet_id, {"subnet_id": subnet_id},
                       {"cidr": f"10.0.{z}.0/24", "network_scope": vpc_id, "availability_zone": f"{region}{'abc'[z]}"})
            yield s.rel("IN_NETWORK", _ref("subnet", subnet_id=subnet_id), vpc, subnet_id, vpc_id)
        for app in self._apps_in(acct, region):
            yield from self._aws_app(s, app, vpc_id, subnets, rng)

    def _aws_app(self, s: _Stream, app: int, vpc_id: str, subnets: list[str], rng: random.Random) -> Iterator[Item]:
        spec = self.spec
        svc = app // spec.apps_per_service
        app_name = f"app-{app:05d}"
        lb_arn = f"arn:aws:elasticloadbalancing:lb/{app_name}"
        tg_id = f"tg-{app:05d}"
        sg_id = f"sg-{app:05d}"
        db_id = f"db-{app:05d}"
        lb, tg, sg, db = (_ref("load_balancer", arn=lb_arn), _ref("cluster", cluster_id=tg_id),
                          _ref("security_group", group_id=sg_id), _ref("database", db_id=db_id))
        yield s.ci("security_group", sg_id, {"group_id": sg_id}, {"name": f"{app_name}-sg"})
        yield s.ci("load_balancer", lb_arn, {"arn": lb_arn},
                   {"name": f"{app_name}-lb", "lb_type": "application", "scheme": "internal"})
        yield s.ci("cluster", tg_id, {"cluster_id": tg_id},
                   {"name": f"{app_name}-tg", "kind": "target_group", "min_up": str(max(1, spec.instances_per_app - 1))})
        yield s.rel("ROUTES_TO", lb, tg, lb_arn, tg_id)
        yield s.ci("database", db_id, {"db_id": db_id},
                   {"name": f"{app_name}-db", "engine": "postgres", "port": 5432, "owner": f"team-{svc:04d}"})
        yield s.rel("IN_NETWORK", db, _ref("subnet", subnet_id=subnets[0]), db_id, subnets[0])
        yield s.rel("IN_NETWORK", lb, _ref("subnet", subnet_id=subnets[1]), lb_arn, subnets[1])
        for i in range(spec.instances_per_app):
            iid = f"i-{app:05d}{i:02d}"
            subnet = subnets[i % len(subnets)]
            inst = _ref("cloud_instance", instance_id=iid)
            ip = f"10.{app // 250 % 250}.{app % 250}.{10 + i}"
            yield s.ci("cloud_instance", iid, {"instance_id": iid},
                       {"name": f"{app_name}-{i}", "instance_type": rng.choice(["t3.medium", "m6i.large"]),
                        "private_ip": ip, "state": "running", "environment": "prod"})
            yield s.rel("ROUTES_TO", tg, inst, tg_id, iid)
            yield s.rel("IN_NETWORK", inst, _ref("subnet", subnet_id=subnet), iid, subnet)
            yield s.rel("MEMBER_OF", inst, sg, iid, sg_id)
            vol_id = f"vol-{app:05d}{i:02d}"
            yield s.ci("volume", vol_id, {"volume_id": vol_id}, {"size_gb": 50.0, "volume_type": "gp3"})
            yield s.rel("ATTACHED_TO", _ref("volume", volume_id=vol_id), inst, vol_id, iid)
            eni_id = f"eni-{app:05d}{i:02d}"
            yield s.ci("cloud_interface", eni_id, {"interface_id": eni_id}, {"private_ip": ip})
            yield s.rel("ATTACHED_TO", _ref("cloud_interface", interface_id=eni_id), inst, eni_id, iid)
            yield s.ci("ip_address", f"{vpc_id}/{ip}", {"address": ip, "network_scope": vpc_id}, {"version": 4})
            yield s.rel("HAS_ADDRESS", _ref("cloud_interface", interface_id=eni_id),
                        _ref("ip_address", address=ip, network_scope=vpc_id), eni_id, f"{vpc_id}/{ip}")

    # -- the same instances from inside, as the host scanner sees them ------------------------------
    def _ssh(self, s: _Stream, acct: str, region: str) -> Iterator[Item]:
        spec = self.spec
        for app in self._apps_in(acct, region):
            app_name = f"app-{app:05d}"
            vpc_id = f"vpc-{acct[-4:]}{region[:2]}"
            yield s.rel("DEPENDS_ON", _ref("application", name=app_name),
                        _ref("load_balancer", arn=f"arn:aws:elasticloadbalancing:lb/{app_name}"),
                        app_name, f"arn:aws:elasticloadbalancing:lb/{app_name}")
            yield s.rel("DEPENDS_ON", _ref("application", name=app_name), _ref("database", db_id=f"db-{app:05d}"),
                        app_name, f"db-{app:05d}")
            for i in range(spec.instances_per_app):
                iid = f"i-{app:05d}{i:02d}"
                machine_id = f"{app:016x}{i:016x}"
                fqdn = f"{app_name}-{i}.prod.example.internal"
                host = _ref("host", machine_id=machine_id)
                ip = f"10.{app // 250 % 250}.{app % 250}.{10 + i}"
                # Same real thing as the cloud_instance: linked by instance_id.
                yield s.ci("host", iid, {"machine_id": machine_id},
                           {"instance_id": iid, "fqdn": fqdn, "hostname": f"{app_name}-{i}", "os_name": "Debian",
                            "os_version": "12", "kernel": "6.1.0-18-amd64", "cpu_count": 2, "memory_mb": 4096},
                           truth_class="cloud_instance")
                yield s.ci("interface", f"{iid}/eth0", {"name": "eth0"}, {"mtu": 9001}, parent=host)
                s.truth_rel(iid, "CONTAINS", f"{iid}/eth0")
                yield s.rel("HAS_ADDRESS", _ref("interface", parent=host, name="eth0"),
                            _ref("ip_address", address=ip, network_scope=vpc_id), f"{iid}/eth0", f"{vpc_id}/{ip}")
                sw = _ref("software_instance", parent=host, product=app_name, port=8080)
                yield s.ci("software_instance", f"{iid}/{app_name}", {"product": app_name, "port": 8080},
                           {"name": f"{app_name} on {app_name}-{i}", "command": "java -jar app.jar"}, parent=host)
                s.truth_rel(iid, "CONTAINS", f"{iid}/{app_name}")
                yield s.rel("RUNS_ON", _ref("application", name=app_name), sw, app_name, f"{iid}/{app_name}")
                for p in range(spec.packages_per_host):
                    pkg = ["openssl", "libc6", "openjdk-17-jre", "curl", "tzdata"][p % 5]
                    yield s.ci("software_package", f"{iid}/{pkg}", {"package_name": pkg}, {"version": "1.0"},
                               parent=host)
                    s.truth_rel(iid, "CONTAINS", f"{iid}/{pkg}")
                for m in range(spec.mesh):
                    other = (app * 7 + m * 13 + i + 1) % spec.apps
                    if other == app:
                        continue
                    yield s.rel("DEPENDS_ON", sw, _ref("load_balancer", arn=f"arn:aws:elasticloadbalancing:lb/app-{other:05d}"),
                                f"{iid}/{app_name}", f"arn:aws:elasticloadbalancing:lb/app-{other:05d}",
                                method=Method.TRAFFIC, confidence=0.6)

    # -- on-prem network, as the SNMP scanner sees it --------------------------------------------
    def _snmp(self, s: _Stream) -> Iterator[Item]:
        spec = self.spec
        site = _ref("location", site_code="dc1")
        core = _ref("switch", chassis_id="00:00:5e:00:00:01")
        yield s.ci("switch", "core-1", {"chassis_id": "00:00:5e:00:00:01"},
                   {"sys_name": "core-1.dc1", "vendor": "Arista", "model": "7150S"})
        yield s.rel("LOCATED_IN", core, site, "core-1", "dc1")
        for r in range(spec.racks):
            rack_code = f"dc1-r{r:03d}"
            rack = _ref("rack", site_code=rack_code)
            tor_mac = f"00:00:5e:01:{r // 256:02x}:{r % 256:02x}"
            tor = _ref("switch", chassis_id=tor_mac)
            yield s.ci("switch", f"tor-{r}", {"chassis_id": tor_mac}, {"sys_name": f"tor-{r}.dc1"})
            yield s.rel("LOCATED_IN", tor, rack, f"tor-{r}", rack_code)
            uplink = _ref("interface", parent=tor, name="Ethernet49")
            core_port = _ref("interface", parent=core, name=f"Ethernet{r + 1}")
            yield s.ci("interface", f"tor-{r}/Ethernet49", {"name": "Ethernet49"}, {"speed_mbps": 100000}, parent=tor)
            yield s.ci("interface", f"core-1/Ethernet{r + 1}", {"name": f"Ethernet{r + 1}"}, {"speed_mbps": 100000},
                       parent=core)
            s.truth_rel(f"tor-{r}", "CONTAINS", f"tor-{r}/Ethernet49")
            s.truth_rel("core-1", "CONTAINS", f"core-1/Ethernet{r + 1}")
            yield s.rel("CONNECTS_TO", uplink, core_port, f"tor-{r}/Ethernet49", f"core-1/Ethernet{r + 1}",
                        method=Method.CONFIG)
            for n in range(spec.servers_per_rack):
                serial = f"SRV{r:03d}{n:02d}"
                server = _ref("physical_server", serial_number=serial)
                yield s.ci("physical_server", serial, {"serial_number": serial},
                           {"sys_name": f"srv-{r}-{n}.dc1", "vendor": "Dell", "model": "R650"})
                yield s.rel("LOCATED_IN", server, rack, serial, rack_code)
                yield s.ci("interface", f"{serial}/eno1", {"name": "eno1"}, {"speed_mbps": 25000}, parent=server)
                port = f"Ethernet{n + 1}"
                yield s.ci("interface", f"tor-{r}/{port}", {"name": port}, {"speed_mbps": 25000}, parent=tor)
                s.truth_rel(serial, "CONTAINS", f"{serial}/eno1")
                s.truth_rel(f"tor-{r}", "CONTAINS", f"tor-{r}/{port}")
                yield s.rel("CONNECTS_TO", _ref("interface", parent=server, name="eno1"),
                            _ref("interface", parent=tor, name=port), f"{serial}/eno1", f"tor-{r}/{port}",
                            method=Method.CONFIG)


class SyntheticScanner:
    """The estate as a Scanner: one ScopeResult per (source, scope); used by the sample demo."""

    def __init__(self, spec: EstateSpec | None = None, source: str | None = None) -> None:
        # One scan run carries one source, so every stream reports as ``source``.
        self.source = source or "synthetic"
        names = {"aws": self.source, "ssh": self.source, "snmp": self.source}
        self.estate = SyntheticEstate(spec or EstateSpec(), names)

    async def scan(self, progress: ProgressHook | None = None) -> AsyncIterator[ScopeResult]:
        streams = list(self.estate.streams())
        for done, (_source, scope, items) in enumerate(streams, start=1):
            result = ScopeResult(scope=scope, items=list(items), complete=True)
            if progress is not None:
                progress(Progress(scope, done, len(streams)))
            yield result
