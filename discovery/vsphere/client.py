"""The vSphere API client: one session, paged property retrieval, plain records out.

Everything that talks to vCenter is here. The collection is one property-collector
sweep per datacenter: a ContainerView over the datacenter's inventory (recursive)
and ``RetrievePropertiesEx`` / ``ContinueRetrievePropertiesEx`` pages of only the
properties the transform needs. Results leave this module as plain JSON-able
records (managed objects become their moid), so the transform is a pure function
that tests feed with payloads recorded from vcsim.

Certificates are verified unless ``verify`` is False (tests against vcsim only).
A session that stops being valid mid-scan (vCenter's idle timeout, an operator
terminating it) is re-established once and the datacenter being swept is read
again; a second loss ends the collection with :class:`SessionLost`.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import VmomiSupport, vim, vmodl

_PC = vmodl.query.PropertyCollector

# The properties read per managed object type (vSphere type names), nothing else.
OBJECT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "ClusterComputeResource": ("name", "host", "configurationEx"),
    "ComputeResource": ("name", "host"),
    "HostSystem": ("name", "parent", "hardware.systemInfo", "runtime.inMaintenanceMode", "runtime.connectionState",
                   "runtime.powerState", "summary.config.product.fullName", "hardware.memorySize",
                   "hardware.cpuInfo.numCpuThreads"),
    "VirtualMachine": ("name", "config.uuid", "config.instanceUuid", "config.template", "config.guestFullName",
                       "config.hardware.numCPU", "config.hardware.memoryMB", "runtime.host", "runtime.powerState",
                       "runtime.connectionState",
                       "guest.hostName", "guest.net", "datastore", "network", "resourcePool"),
    "Datastore": ("name", "summary.url", "summary.type", "summary.capacity"),
    "Network": ("name",),
    "DistributedVirtualPortgroup": ("config.distributedVirtualSwitch",),
    "DistributedVirtualSwitch": ("name",),
    "ResourcePool": ("name", "parent"),
}

_VIM_TYPES: dict[str, Any] = {
    "ClusterComputeResource": vim.ClusterComputeResource,
    "ComputeResource": vim.ComputeResource,
    "HostSystem": vim.HostSystem,
    "VirtualMachine": vim.VirtualMachine,
    "Datastore": vim.Datastore,
    "Network": vim.Network,
    "DistributedVirtualPortgroup": vim.dvs.DistributedVirtualPortgroup,
    "DistributedVirtualSwitch": vim.DistributedVirtualSwitch,
    "ResourcePool": vim.ResourcePool,
}

# Container view types: ClusterComputeResource and the port group / VMware DVS subtypes
# are found through their parents' types.
_VIEW_TYPES = ("ComputeResource", "HostSystem", "VirtualMachine", "Datastore", "Network", "DistributedVirtualSwitch",
               "ResourcePool")

PageHook = Callable[[int], None]


class VsphereError(RuntimeError):
    """A failure that ends the collection of a vCenter (login, certificate, unreachable, session lost)."""


class SessionLost(VsphereError):
    """The session became invalid twice during one collection."""


@dataclass(frozen=True, slots=True)
class ConnectSettings:
    """Where vCenter is and how to log in. ``password`` never shows in a repr."""

    server: str  # host or host:port
    user: str
    password: str = field(repr=False)
    verify: bool = True  # False only against a simulator in tests
    ca_file: str | None = None  # a CA bundle for a vCenter signed by a private CA
    page_size: int = 500  # objects per RetrievePropertiesEx page

    @property
    def host(self) -> str:
        host, _, port = self.server.rpartition(":")
        return host if port.isdigit() and host else self.server

    @property
    def port(self) -> int:
        host, _, port = self.server.rpartition(":")
        return int(port) if port.isdigit() and host else 443


def plain(value: Any) -> Any:
    """A pyvmomi value as JSON-able data: managed objects by moid, data objects as dicts with ``_type``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return str(value) if isinstance(value, str) else value
    if isinstance(value, VmomiSupport.ManagedObject):
        return value._moId
    if isinstance(value, VmomiSupport.DataObject):
        out: dict[str, Any] = {"_type": value._wsdlName}
        for prop in value._GetPropertyList():
            if prop.name in ("dynamicType", "dynamicProperty"):
                continue
            item = getattr(value, prop.name, None)
            if item is None or (isinstance(item, list) and not item):
                continue
            out[prop.name] = plain(item)
        return out
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def object_record(content: Any) -> dict[str, Any]:
    """One ObjectContent as ``{type, moid, props, missing}``."""
    obj = content.obj
    props = {p.name: plain(p.val) for p in content.propSet or ()}
    missing = [{"path": m.path, "fault": type(m.fault).__name__ + (f": {m.fault.msg}" if m.fault.msg else "")}
               for m in content.missingSet or ()]
    return {"type": obj._wsdlName, "moid": obj._moId, "props": props, "missing": missing}


class VsphereClient:
    """One vCenter session. Not thread-safe: one collection at a time."""

    def __init__(self, settings: ConnectSettings, on_page: PageHook | None = None) -> None:
        self.settings = settings
        self.on_page = on_page
        self.calls = 0  # API calls made (login, retrievals)
        self.relogins = 0
        self._si: Any = None
        # What collect() had finished when it raised: whole datacenters only.
        self.partial: dict[str, Any] | None = None

    # -- session ------------------------------------------------------------------------------------
    def login(self) -> None:
        """Open the session, or raise VsphereError saying why not in words an operator can act on."""
        s = self.settings
        context = None
        if s.verify:
            context = ssl.create_default_context(cafile=s.ca_file)
        self.calls += 1
        try:
            self._si = SmartConnect(host=s.host, port=s.port, user=s.user, pwd=s.password, sslContext=context,
                                    disableSslCertValidation=not s.verify, connectionPoolTimeout=30)
        except vim.fault.InvalidLogin:
            raise VsphereError(f"login to {s.server} as {s.user!r} refused: wrong user name or password") from None
        except ssl.SSLCertVerificationError as exc:
            raise VsphereError(f"certificate of {s.server} not trusted ({exc.verify_message}); give the CA bundle "
                               "that signed it (ca_file), never turn verification off outside a lab") from None
        except (ssl.SSLError, OSError) as exc:
            raise VsphereError(f"cannot reach {s.server}: {type(exc).__name__}: {exc}") from None
        except vmodl.MethodFault as exc:
            raise VsphereError(f"login to {s.server} failed: {_fault_text(exc)}") from None

    def logout(self) -> None:
        if self._si is not None:
            with contextlib.suppress(Exception):  # a session already gone has nothing to close
                Disconnect(self._si)
            self._si = None

    def session_key(self) -> str:
        """This session's key (tests terminate it through the SessionManager)."""
        return str(self._si.content.sessionManager.currentSession.key)

    def about(self) -> dict[str, Any]:
        about = self._si.content.about
        return {"name": about.fullName, "api_version": about.apiVersion, "instance_uuid": about.instanceUuid}

    # -- retrieval ---------------------------------------------------------------------------------
    def _pages(self, container: Any, view_types: list[Any], prop_specs: list[Any],
               page_size: int | None) -> Iterator[list[Any]]:
        """ObjectContent pages of a recursive ContainerView: RetrievePropertiesEx, then its continuation token."""
        content = self._si.content
        self.calls += 1
        view = content.viewManager.CreateContainerView(container, view_types, True)
        try:
            traverse = _PC.TraversalSpec(name="view", type=vim.view.ContainerView, path="view", skip=False)
            spec = _PC.FilterSpec(objectSet=[_PC.ObjectSpec(obj=view, skip=True, selectSet=[traverse])],
                                  propSet=prop_specs)
            self.calls += 1
            result = content.propertyCollector.RetrievePropertiesEx([spec], _PC.RetrieveOptions(maxObjects=page_size))
            while result is not None:
                yield list(result.objects)
                if not result.token:
                    break
                self.calls += 1
                result = content.propertyCollector.ContinueRetrievePropertiesEx(result.token)
        finally:
            with contextlib.suppress(Exception):  # the session may be the thing that failed
                view.DestroyView()

    def _retrieve(self, container: Any, types: Iterable[str]) -> list[dict[str, Any]]:
        """Every object of ``types`` under ``container``, page by page, as records."""
        type_names = list(types)
        prop_specs = [_PC.PropertySpec(type=_VIM_TYPES[t], pathSet=list(OBJECT_PROPERTIES[t]))
                      for t in OBJECT_PROPERTIES if _subtype_of(t, type_names)]
        records: list[dict[str, Any]] = []
        for page in self._pages(container, [_VIM_TYPES[t] for t in type_names], prop_specs, self.settings.page_size):
            records.extend(object_record(c) for c in page)
            if self.on_page is not None:
                self.on_page(len(page))
        return records

    def _datacenters(self) -> list[tuple[str, str]]:
        specs = [_PC.PropertySpec(type=vim.Datacenter, pathSet=["name"])]
        return sorted((c.obj._moId, str(c.propSet[0].val))
                      for page in self._pages(self._si.content.rootFolder, [vim.Datacenter], specs, None)
                      for c in page)

    def _read_datacenter(self, moid: str) -> list[dict[str, Any]]:
        # The stub is read at call time: after a re-login it is the new session's.
        return self._retrieve(vim.Datacenter(moid, stub=self._si._stub), _VIEW_TYPES)

    def _with_session(self, read: Callable[[], Any]) -> Any:
        """``read()``, re-logging in once per collection if the session is no longer valid."""
        try:
            return read()
        except vim.fault.NotAuthenticated:
            if self.relogins >= 1:
                raise SessionLost(f"session to {self.settings.server} expired again after re-login") from None
        self.relogins += 1
        self.login()
        try:
            return read()
        except vim.fault.NotAuthenticated:
            raise SessionLost(f"session to {self.settings.server} expired again after re-login") from None

    def collect(self) -> dict[str, Any]:
        """The whole inventory: ``{about, datacenters: [{moid, name, objects: [records]}]}``.

        The caller logs in first. Raises VsphereError (SessionLost included) when the
        collection cannot finish; a method fault on one datacenter is kept in its ``error``.
        """
        about = self._with_session(self.about)
        datacenters: list[dict[str, Any]] = []
        self.partial = {"about": about, "datacenters": datacenters}
        for moid, name in self._with_session(self._datacenters):
            entry: dict[str, Any] = {"moid": moid, "name": name, "objects": []}
            try:
                entry["objects"] = self._with_session(functools.partial(self._read_datacenter, moid))
            except vmodl.MethodFault as exc:
                if isinstance(exc, vim.fault.NotAuthenticated):
                    raise
                entry["error"] = _fault_text(exc)
            datacenters.append(entry)
        return {"about": about, "datacenters": datacenters}


def _subtype_of(type_name: str, view_types: list[str]) -> bool:
    """True when ``type_name`` is a subtype of one of ``view_types`` (a cluster is a compute resource)."""
    cls = _VIM_TYPES[type_name]
    return any(cls is _VIM_TYPES[t] or issubclass(cls, _VIM_TYPES[t]) for t in view_types)


def _fault_text(fault: vmodl.MethodFault) -> str:
    """``Type: message``; ``msg`` is a vmodl property that pyVmomi's stubs do not declare."""
    message: object = getattr(fault, "msg", None)
    return f"{type(fault).__name__}: {message}"
