"""Manual edits: create, update, relate and retire CIs as the source ``manual``.

Create, update and relate go through the Ingestor, so identification, precedence
and history apply exactly as for a scanner. Each edit is one short scan run of
source ``manual`` in scope ``api``, finished incomplete so it never ages anything.
Retire has no observation form, so it is applied here as one ChangeSet with its
history entry, and announced to the same listeners (the topology index).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cmdb.errors import NotFound
from cmdb.identify import keys_for
from cmdb.ingest import Ingestor, IngestReport
from cmdb.model import CI, Action, ChangeSet, HistoryEntry, Lifecycle, Relationship, ScanRun, rel_uid
from cmdb.observation import CIRef, Evidence, Method, Observation, ObservedRelation, now_ms
from cmdb.redact import redact_text
from cmdb.services.errors import EditRejected
from schema import Schema

MANUAL_SOURCE = "manual"
MANUAL_SCOPE = "api"
_NOT_A_SCAN = "manual edit: not a scan of its scope (ages nothing)"


@dataclass(frozen=True, slots=True)
class EditResult:
    """The CI after the edit (None only for a relate), the run that carried it, what changed."""

    ci: CI | None
    run_id: str
    changed: bool
    relationship: Relationship | None = None


class ManualEdits:
    """Manual edits; one writer at a time (``lock``) so edits and collector runs never interleave."""

    def __init__(self, ingestor: Ingestor, schema: Schema, lock: threading.Lock | None = None) -> None:
        self.ingestor = ingestor
        self.store = ingestor.store
        self.schema = schema
        self.lock = lock or threading.Lock()

    # -- references ------------------------------------------------------------------
    def ref_for(self, ci: CI) -> CIRef:
        """How an observation names an existing CI: its first satisfied identifier rule (and parent)."""
        cls = self.schema.cls(ci.ci_class)
        for rule in cls.identifiers:
            values = {a: ci.attributes.get(a) for a in rule.attributes}
            if all(v is not None and v != "" and isinstance(v, (str, int, float, bool)) for v in values.values()):
                parent = None
                if cls.dependency is not None and ci.parent_uid:
                    parent = self.ref_for(self._get(ci.parent_uid))
                return CIRef.model_validate({"class": ci.ci_class, "identifiers": values, "parent": parent})
        raise EditRejected("uid", f"CI {ci.uid} has no complete identifier; it cannot be edited by reference")

    def _get(self, uid: str) -> CI:
        found = self.store.get_cis([uid])
        if uid not in found:
            raise NotFound("CI", uid)
        return found[uid]

    # -- one run per edit ------------------------------------------------------------------
    def _run(self, items: Sequence[Observation | ObservedRelation]) -> tuple[ScanRun, IngestReport]:
        with self.lock, self.ingestor.run(MANUAL_SOURCE, MANUAL_SCOPE, job="api") as run:
            run.ingest(items)
            run.incomplete(_NOT_A_SCAN)
        report = run.report
        if report.rejected:
            err = report.rejected[0]
            raise EditRejected(err.field, err.message)
        assert run.finished is not None
        return run.finished, report

    def _observation(self, ci_class: str, identifiers: Mapping[str, Any], attributes: Mapping[str, Any],
                     parent: CIRef | None) -> Observation:
        try:
            return Observation.model_validate({
                "source": MANUAL_SOURCE, "scope": MANUAL_SCOPE, "class": ci_class, "identifiers": dict(identifiers),
                "attributes": dict(attributes), "parent": parent})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise EditRejected(".".join(str(p) for p in first["loc"]) or "input", first["msg"]) from None

    def _find(self, ci_class: str, values: Mapping[str, Any], parent_uid: str | None) -> CI | None:
        cls = self.schema.cls(ci_class)
        keys = keys_for(cls, values, parent_uid)
        found = self.store.find_keys(keys)
        for key in keys:
            uids = found.get(key)
            if uids:
                return self.store.get_cis(uids[:1]).get(uids[0])
        return None

    # -- the edits ----------------------------------------------------------------------------
    def create(self, ci_class: str, identifiers: Mapping[str, Any], attributes: Mapping[str, Any],
               parent_uid: str | None = None) -> EditResult:
        """Create a CI (or, if its identifiers match an existing CI, update that one)."""
        if ci_class not in self.schema.classes:
            raise EditRejected("class", f"unknown CI class {ci_class!r}")
        parent = self.ref_for(self._get(parent_uid)) if parent_uid else None
        obs = self._observation(ci_class, identifiers, attributes, parent)
        run, report = self._run([obs])
        ci = self._find(ci_class, {**attributes, **identifiers}, parent_uid)
        return EditResult(ci=ci, run_id=run.run_id, changed=bool(report.created or report.updated))

    def update(self, uid: str, attributes: Mapping[str, Any]) -> EditResult:
        """Set attributes on an existing CI (manual has the highest precedence by default)."""
        ci = self._get(uid)
        ref = self.ref_for(ci)
        obs = self._observation(ci.ci_class, ref.identifiers, attributes, ref.parent)
        run, report = self._run([obs])
        return EditResult(ci=self._get(uid), run_id=run.run_id, changed=bool(report.updated or report.created))

    def relate(self, source_uid: str, rel_type: str, target_uid: str, attributes: Mapping[str, Any],
               confidence: float = 1.0) -> EditResult:
        """Declare ``source -[rel_type]-> target`` (evidence method ``declared``)."""
        source, target = self._get(source_uid), self._get(target_uid)
        if rel_type not in self.schema.relationships:
            raise EditRejected("type", f"unknown relationship type {rel_type!r}")
        try:
            item = ObservedRelation.model_validate({
                "source": MANUAL_SOURCE, "scope": MANUAL_SCOPE, "type": rel_type, "from": self.ref_for(source),
                "to": self.ref_for(target), "attributes": dict(attributes),
                "evidence": Evidence(method=Method.DECLARED, confidence=confidence)})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise EditRejected(".".join(str(p) for p in first["loc"]) or "input", first["msg"]) from None
        run, report = self._run([item])
        uid = rel_uid(source_uid, rel_type, target_uid)
        rel = self.store.get_relationships([uid]).get(uid)
        return EditResult(ci=None, run_id=run.run_id, relationship=rel,
                          changed=bool(report.relationships_created or report.relationships_updated))

    def retire(self, uid: str, reason: str | None = None) -> EditResult:
        """Mark a CI retired (its history stays); a no-op if it already is."""
        with self.lock:
            ci = self._get(uid)
            if ci.status is Lifecycle.RETIRED:
                return EditResult(ci=ci, run_id="", changed=False)
            with self.ingestor.run(MANUAL_SOURCE, MANUAL_SCOPE, job="api") as run:
                at = now_ms()
                changes: dict[str, list[Any]] = {"status": [ci.status.value, Lifecycle.RETIRED.value]}
                if reason:
                    changes["reason"] = [None, redact_text(reason)]  # free text: cmdb.redact
                ci.status = Lifecycle.RETIRED
                ci.updated_at = at
                run.apply(ChangeSet(cis=[ci], history=[HistoryEntry(
                    subject_uid=uid, subject_kind="ci", action=Action.RETIRE, changes=changes,
                    source=MANUAL_SOURCE, run_id=run.run_id, at=at)]))
                run.incomplete(_NOT_A_SCAN)
        return EditResult(ci=self._get(uid), run_id=run.run_id, changed=True)
