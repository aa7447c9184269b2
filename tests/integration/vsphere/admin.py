"""A second, independent pyvmomi session on vcsim: changes the estate between scans and reads the truth.

Test code only: it drives the simulator the way an operator would (migrate, power off,
maintenance mode, terminate a session) through the public vSphere API.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

from labs.vcsim import Vcsim


def wait_for_task(task: Any, timeout: float = 60.0) -> None:
    """Wait (bounded) until the task succeeds; raise its fault if it fails.

    pyVim.task.WaitForTask trips over vcsim's task names when it finds a task still running.
    """
    deadline = time.monotonic() + timeout
    while True:
        info = task.info
        if info.state == "success":
            return
        if info.state == "error":
            raise info.error
        if time.monotonic() > deadline:
            raise TimeoutError(f"task {info.key} still {info.state} after {timeout} s")
        time.sleep(0.02)


class Admin:
    def __init__(self, si: Any) -> None:
        self.si = si
        self.content = si.RetrieveContent()

    def _all(self, kind: Any) -> list[Any]:
        view = self.content.viewManager.CreateContainerView(self.content.rootFolder, [kind], True)
        try:
            return list(view.view)
        finally:
            view.DestroyView()

    def vm(self, name: str) -> Any:
        return next(v for v in self._all(vim.VirtualMachine) if v.name == name)

    def host(self, name: str) -> Any:
        return next(h for h in self._all(vim.HostSystem) if h.name == name)

    def cluster(self, name: str) -> Any:
        return next(c for c in self._all(vim.ClusterComputeResource) if c.name == name)

    def vm_hosts(self) -> dict[str, str]:
        """VM name -> the name of the host vCenter says it runs on (the truth to compare with)."""
        return {v.name: v.runtime.host.name for v in self._all(vim.VirtualMachine)}

    def vm_datastores(self) -> dict[str, set[str]]:
        return {v.name: {d.name for d in v.datastore} for v in self._all(vim.VirtualMachine)}

    def migrate(self, vm: str, host: str) -> None:
        wait_for_task(self.vm(vm).RelocateVM_Task(vim.vm.RelocateSpec(host=self.host(host))))

    def power_off(self, vm: str) -> None:
        wait_for_task(self.vm(vm).PowerOffVM_Task())

    def destroy(self, vm: str) -> None:
        target = self.vm(vm)
        if target.runtime.powerState != "poweredOff":
            wait_for_task(target.PowerOffVM_Task())
        wait_for_task(target.Destroy_Task())

    def maintenance(self, host: str) -> None:
        wait_for_task(self.host(host).EnterMaintenanceMode_Task(timeout=0))

    def set_guest(self, vm: str, *, uuid: str | None = None, hostname: str | None = None,
                  ip: str | None = None) -> None:
        """BIOS UUID through the ConfigSpec; guest facts through vcsim's ``SET.`` extraConfig keys."""
        extra = [vim.option.OptionValue(key=k, value=v) for k, v in
                 (("SET.guest.hostName", hostname), ("SET.guest.ipAddress", ip)) if v]
        wait_for_task(self.vm(vm).ReconfigVM_Task(vim.vm.ConfigSpec(uuid=uuid, extraConfig=extra)))

    def enable_ha(self, cluster: str) -> None:
        das = vim.cluster.DasConfigInfo(enabled=True, admissionControlEnabled=True)
        wait_for_task(self.cluster(cluster).ReconfigureComputeResource_Task(vim.cluster.ConfigSpecEx(dasConfig=das), True))

    def terminate_other_sessions(self) -> list[str]:
        """End every session but this one (the scanner's), as an operator or an idle timeout would."""
        manager = self.content.sessionManager
        mine = manager.currentSession.key
        others = [s.key for s in manager.sessionList if s.key != mine]
        if others:
            manager.TerminateSession(others)
        return others


@contextmanager
def admin_session(sim: Vcsim) -> Iterator[Admin]:
    host, _, port = sim.server.rpartition(":")
    si = SmartConnect(host=host, port=int(port), user=sim.user, pwd=sim.password, disableSslCertValidation=True)
    try:
        yield Admin(si)
    finally:
        Disconnect(si)
