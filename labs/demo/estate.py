"""Start the demo estate, write its jobs file, and discover it with the real scanners.

Each part says whether it runs for real, was skipped (and why), or failed; the
bundled synthetic sample estate stands in when a part is missing, and the
summary says so. Every process and namespace is in the state file before
anything else can fail, so ``stop_estate`` always cleans up.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cmdb.ingest import Ingestor
from cmdb.model import ScanRun
from discovery.base import ProgressHook
from discovery.job_runner import JobOutcome, JobRunner
from discovery.jobs import Jobs, load_jobs
from labs.demo.state import DemoState, stop_everything

Say = Callable[[str], None]


@dataclass(slots=True)
class Part:
    """One piece of the estate: ``real`` (started and scanned for real), ``skipped`` or ``failed``."""

    name: str
    status: str
    detail: str
    job: str | None = None


@dataclass(slots=True)
class DemoEstate:
    data_dir: Path
    jobs_path: Path
    parts: list[Part] = field(default_factory=list)
    sample_job: str | None = None
    instances: dict[str, str] = field(default_factory=dict)  # EC2 instance id by Name tag

    def load_jobs(self) -> Jobs:
        return load_jobs(self.jobs_path)

    @property
    def job_names(self) -> list[str]:
        names = [p.job for p in self.parts if p.status == "real" and p.job]
        return names + ([self.sample_job] if self.sample_job else [])


def stop_estate(data_dir: Path) -> list[str]:
    """Stop whatever a previous ``start_estate`` in ``data_dir`` left running."""
    state = DemoState.load(data_dir)
    return stop_everything(state) if state is not None else []


def _secret(directory: Path, name: str, value: str) -> str:
    """Write a demo credential to a 0600 file and return its ``file:`` reference."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(value + "\n")
    os.chmod(path, 0o600)
    return f"file:{path}"


def _start_aws(work: Path, state: DemoState) -> Any:
    from labs.demo.aws_company import start_moto

    proc, endpoint = start_moto(work)
    state.add_process("moto_server", proc.pid, "moto_server")
    from labs.demo.aws_company import seed_company

    return seed_company(endpoint)


def _start_network(work: Path, state: DemoState) -> Any:
    from labs.demo.network_lab import start_network_lab

    return start_network_lab(work, state.add_process)


def _add_vsphere(work: Path, state: DemoState, estate: DemoEstate, jobs: list[dict[str, Any]], secrets: Path,
                 say: Say) -> None:
    """A small vCenter (vcsim): one datacenter, a 3-host cluster, a resource pool of 2 VMs, 2 datastores."""
    from labs.vcsim import Inventory, VcsimUnavailable, start_vcsim

    say("starting a vCenter simulator (vcsim) ...")
    try:
        proc, sim = start_vcsim(Inventory(clusters=1, hosts=3, standalone_hosts=0, vms=2, pools=1, datastores=2),
                                user="svc-cmdb", password="demo-vcsim", workdir=work)
    except VcsimUnavailable as exc:
        estate.parts.append(Part("vsphere", "skipped", str(exc)))
        return
    except Exception as exc:
        estate.parts.append(Part("vsphere", "failed", f"{type(exc).__name__}: {exc}"))
        return
    state.add_process("vcsim", proc.pid, "vcsim")
    jobs.append({
        "name": "acme-vsphere", "scanner": "vsphere", "schedule": {"interval": 600, "jitter": 30}, "timeout": 300,
        "credentials": {"password": _secret(secrets, "vcenter_password", sim.password)},
        # insecure: vcsim's certificate is self-signed; a real vCenter gets ca_file instead.
        "options": {"server": sim.server, "user": sim.user, "insecure": True},
    })
    estate.parts.append(Part("vsphere", "real", f"vcsim at {sim.server}: datacenter DC0, cluster DC0_C0 of 3 ESXi "
                             "hosts, 2 VMs in a resource pool, 2 datastores, a distributed switch", "acme-vsphere"))


def start_estate(data_dir: Path, with_hosts: bool = True, say: Say = print, netns_prefix: str | None = None) -> DemoEstate:
    """Start every part this machine allows (stopping a previous demo first) and write ``jobs.yaml``.

    ``netns_prefix`` names the hosts' network namespaces (``<prefix>-web1``...);
    two demos (or a demo and its test) running at once need different ones.
    """
    data_dir = data_dir.resolve()
    for line in stop_estate(data_dir):
        say(f"  previous demo: {line}")
    state = DemoState(str(data_dir))
    # The store is emptied at each start: forget which devices answered into the last one.
    shutil.rmtree(data_dir / "snmp-state", ignore_errors=True)
    state.save()
    secrets = data_dir / "secrets"
    estate = DemoEstate(data_dir, data_dir / "jobs.yaml")
    jobs: list[dict[str, Any]] = []

    say("starting a moto server with Acme's AWS accounts and the lab network's SNMP agents ...")
    with ThreadPoolExecutor(2, thread_name_prefix="demo-start") as pool:
        aws_future = pool.submit(_start_aws, data_dir / "aws", state)
        net_future = pool.submit(_start_network, data_dir / "network", state)
        company = None
        try:
            company = aws_future.result()
            estate.instances = dict(company.instances)
            from labs.demo.aws_company import DUMMY_KEY, DUMMY_SECRET, REGION

            jobs.append({
                "name": "acme-aws", "scanner": "aws", "schedule": {"interval": 600, "jitter": 30}, "timeout": 300,
                "credentials": {"access_key_id": _secret(secrets, "aws_access_key_id", DUMMY_KEY),
                                "secret_access_key": _secret(secrets, "aws_secret_access_key", DUMMY_SECRET)},
                "options": {"endpoint_url": company.endpoint, "role_arns": company.role_arns, "regions": [REGION],
                            "max_attempts": 4, "read_timeout": 60},
            })
            estate.parts.append(Part("aws", "real", f"moto server at {company.endpoint}: accounts "
                                     "111111111111 (prod) and 222222222222 (shared), eu-west-1", "acme-aws"))
        except Exception as exc:
            estate.parts.append(Part("aws", "failed", f"{type(exc).__name__}: {exc}"))
        try:
            lab = net_future.result()
            seeds = [lab.addresses["core1"]] if "core1" in lab.addresses else sorted(lab.addresses.values())
            jobs.append({
                "name": "acme-network", "scanner": "snmp", "schedule": {"interval": 600, "jitter": 30},
                "timeout": 300, "credentials": {"community": _secret(secrets, "snmp_community", "public")},
                "options": {"scope": "acme-campus", "port": lab.port, "targets": [{"seeds": seeds}],
                            "crawl": {"enabled": True, "ranges": ["127.0.0.0/24"], "max_depth": 4},
                            "timeout": 2.0, "retries": 1, "state_dir": str(data_dir / "snmp-state")},
            })
            estate.parts.append(Part("network", "real", f"{len(lab.addresses)} snmpsim agents (lab recordings) "
                                     f"on 127.0.0.x:{lab.port}, crawled from core1 by LLDP/CDP", "acme-network"))
        except Exception as exc:
            estate.parts.append(Part("network", "failed", f"{type(exc).__name__}: {exc}"))

    _add_vsphere(data_dir / "vsphere", state, estate, jobs, secrets, say)

    from labs.demo.hosts_lab import PREFIX, hosts_lab_problem, start_hosts_lab

    problem = None if with_hosts else "disabled (--no-hosts)"
    problem = problem or hosts_lab_problem()
    if problem is not None:
        estate.parts.append(Part("hosts", "skipped", problem))
    else:
        say("starting SSH hosts web1, app1, db1, cache1 in network namespaces ...")
        try:
            hosts = start_hosts_lab(data_dir / "hosts", company.instances if company else {}, state.add_process,
                                    state.add_namespaces, prefix=netns_prefix or PREFIX, record_path=state.add_path)
            jobs.append({"name": "acme-hosts", "scanner": "hosts", "schedule": {"interval": 600, "jitter": 30},
                         "timeout": 300, "options": {"inventory": hosts.inventory, "netns": hosts.netns}})
            estate.parts.append(Part("hosts", "real", "4 hosts with sshd; nginx -> java -> postgres, redis "
                                     "(real TCP connections); each claims its EC2 instance id", "acme-hosts"))
        except Exception as exc:
            estate.parts.append(Part("hosts", "failed", f"{type(exc).__name__}: {exc}"))

    missing = [p.name for p in estate.parts if p.status != "real"]
    if missing:
        estate.sample_job = "acme-sample"
        jobs.append({"name": "acme-sample", "scanner": "sample", "options": {"apps": 6},
                     "description": "synthetic stand-in for: " + ", ".join(missing)})
    estate.jobs_path.write_text(
        "# Written by `cmdb demo`: the demo estate's discovery jobs (try `cmdb scheduler -j` on it).\n"
        + yaml.safe_dump({"defaults": {"timeout": 300, "concurrency": 8}, "jobs": jobs}, sort_keys=False))
    state.notes = {p.name: f"{p.status}: {p.detail}" for p in estate.parts}
    state.save()
    return estate


def declare_services(estate: DemoEstate, ingestor: Ingestor) -> ScanRun:
    """Ingest Acme's declared service map (source ``manual``) as one complete run."""
    from labs.demo.services import SCOPE, SOURCE, service_map

    hosts_real = any(p.name == "hosts" and p.status == "real" for p in estate.parts)
    with ingestor.run(SOURCE, SCOPE, job="acme-services") as run:
        run.ingest(service_map(estate.instances, with_processes=hosts_real))
    assert run.finished is not None
    return run.finished


async def _discover(estate: DemoEstate, ingestor: Ingestor, progress: ProgressHook | None) -> list[JobOutcome]:
    jobs = estate.load_jobs()
    runner = JobRunner(ingestor, lock_dir=estate.data_dir / "locks")
    # One at a time, AWS first (the hosts claim its instance ids). Scanners share this
    # event loop, and the SNMP crawl's CPU work would starve the SSH handshakes.
    order = sorted(estate.job_names, key=lambda n: n != "acme-aws")
    outcomes = [await runner.run(jobs.get(name), progress=progress) for name in order]
    return outcomes


def discover_estate(estate: DemoEstate, ingestor: Ingestor, progress: ProgressHook | None = None) -> list[JobOutcome]:
    """Run every job of the estate once, for real, into ``ingestor``'s store."""
    return asyncio.run(_discover(estate, ingestor, progress))
