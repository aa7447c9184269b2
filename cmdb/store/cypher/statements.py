"""The one set of parameterised Cypher statements both graph engines run.

Everything per class or relationship type is generated from ``schema/``. The
statements stay in the subset Neo4j and FalkorDB share: no ``EXISTS {}`` or
``COUNT {}`` subqueries, no temporal types (times are epoch milliseconds), no
map-valued properties (nested values are JSON strings). Index and constraint
DDL is the one part that differs per engine (:mod:`cmdb.store.cypher.ddl`).

Graph model
-----------
- ``(:CI:<Class>:<Ancestor>... {uid, ci_class, lifecycle, created_at, updated_at,
  parent_uid, duplicate_of, attrs, prov, <attribute>...})``: ``attrs`` and
  ``prov`` are the exact JSON of the attributes and provenance; primitive
  attributes are also plain properties for Cypher users and indexes.
- ``(a:CI)-[:<TYPE> {uid, lifecycle, last_run, attrs, sources, first_seen,
  last_seen, times_seen, method, confidence, <attribute>...}]->(b:CI)``.
- Bookkeeping nodes, never connected: ``CmdbKey {key, uid}`` (identification
  keys), ``CmdbHistory {seq, ...}``, ``CmdbSighting {sid, skey, ...}``,
  ``CmdbRun {run_id, ...}`` and ``CmdbCounter {name, value}`` (history seq).

Each statement touches either the topology (CIs and relationships) or the
bookkeeping nodes, never both (:data:`BOOKKEEPING_LABELS`): FalkorDB keeps the
two in separate graphs, written by two server threads; Neo4j keeps both in one
database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product

from cmdb.store.cypher import change_log_statements as change_log
from cmdb.store.cypher.codec import (
    CI_ATTRIBUTES,
    CI_COLUMNS,
    CI_RESERVED,
    HISTORY_COLUMNS,
    LEGACY_PREV_EVIDENCE,
    REL_COLUMNS,
    REL_EVIDENCE,
    REL_FIRST,
    REL_PREVIOUS,
    REL_RESERVED,
)
from schema import Schema

CI_LABEL = "CI"
KEY_LABEL = "CmdbKey"
HISTORY_LABEL = "CmdbHistory"
SIGHTING_LABEL = "CmdbSighting"
RUN_LABEL = "CmdbRun"
COUNTER_LABEL = "CmdbCounter"
SYSTEM_LABELS = (CI_LABEL, KEY_LABEL, HISTORY_LABEL, SIGHTING_LABEL, RUN_LABEL, COUNTER_LABEL)
# Which part of the store a statement touches (Unit.part, CypherTransport.read).
TOPOLOGY = "topology"  # CIs and their relationships: what traversals walk
BOOKKEEPING = "bookkeeping"  # the nodes below, never connected to a CI
BOOKKEEPING_LABELS = frozenset({KEY_LABEL, HISTORY_LABEL, SIGHTING_LABEL, RUN_LABEL, COUNTER_LABEL})


def part_of(label: str) -> str:
    """The part of the store that holds nodes of ``label``."""
    return BOOKKEEPING if label in BOOKKEEPING_LABELS else TOPOLOGY

FILTER_OPS = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

_CI_RETURN = (
    "n.uid, n.ci_class, n.lifecycle, n.created_at, n.updated_at, n.parent_uid, n.duplicate_of, n.attrs, n.prov"
)
_REL_RETURN = (
    "r.uid, type(r), a.uid, b.uid, r.attrs, r.sources, r.first_seen, r.last_seen, r.times_seen, "
    "r.method, r.confidence, r.lifecycle, r.last_run"
)
_HISTORY_RETURN = "h.seq, h.subject_uid, h.subject_kind, h.action, h.changes, h.source, h.run_id, h.at"
_RUN_RETURN = ("r.run_id, r.source, r.scope, r.job, r.started_at, r.finished_at, r.status, r.counts, r.errors, "
               "r.owner, r.heartbeat_at, r.job_run_id, r.scan_started_at, r.scan_finished_at")


def _listing(columns: str) -> str:
    """A RETURN of every row as one list of lists (``CypherStore._listed`` reads it)."""
    return f"RETURN collect([{columns}])"


def class_label(ci_class: str) -> str:
    """``business_service`` -> ``BusinessService``: the node label of a class."""
    return "".join(part[:1].upper() + part[1:] for part in ci_class.split("_") if part)


def quote(name: str) -> str:
    """A property name for Cypher text; anything but a plain identifier is refused."""
    if not _IDENT.match(name):
        raise ValueError(f"not a storable property name: {name!r}")
    return f"`{name}`"


@dataclass(frozen=True, slots=True)
class SearchShape:
    """Which optional parts a search statement has (its text depends on nothing else)."""

    classes: bool = False
    statuses: bool = False
    text: bool = False
    after: bool = False
    filters: tuple[tuple[str, str], ...] = ()  # (attribute, op)


_ATTRIBUTE_LIST = re.compile(rf"SET (?:n\.`[A-Za-z][A-Za-z0-9_]*` = row\[{CI_ATTRIBUTES}\]\[\d+\], )+")
_ATTRIBUTE_INLINE = re.compile(rf"\{{(?:`[A-Za-z][A-Za-z0-9_]*`: row\[{CI_ATTRIBUTES}\]\[\d+\], )+")
_CREATE = "UNWIND $rows AS row CREATE "


def attribute_list_as_map(statement: str) -> str:
    """A CI statement with its attributes as a list, in its map form (the catalogue's).

    For checks that every statement sent was linted: the list form differs only in
    attribute names, each through :func:`quote`.
    """
    if statement.startswith(_CREATE):
        text, found = _ATTRIBUTE_INLINE.subn("{", statement)
        return f"{text} SET n += row[{CI_ATTRIBUTES}]" if found else statement
    return _ATTRIBUTE_LIST.sub(f"SET n += row[{CI_ATTRIBUTES}], ", statement)


def _sets(var: str, columns: tuple[str, ...], first: int = 0, skip: tuple[str, ...] = ()) -> str:
    """``n.a = row[0], n.b = row[1], ...``: properties from a positional row."""
    return ", ".join(f"{var}.{name} = row[{first + i}]" for i, name in enumerate(columns) if name not in skip)


class Statements:
    """All statements for one schema. Attributes are statement texts; methods build
    the few whose text depends on a class, a relationship type or a search shape."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.class_labels: dict[str, tuple[str, ...]] = {}
        for name, cls in schema.classes.items():
            labels = [class_label(c) for c in (name, *cls.ancestors)]
            self.class_labels[name] = tuple(lb for lb in labels if lb.upper() != CI_LABEL)
        clash = {lb for labels in self.class_labels.values() for lb in labels} & set(SYSTEM_LABELS)
        if clash:
            raise ValueError(f"class labels collide with system labels: {sorted(clash)}")
        self.all_class_labels = tuple(sorted({lb for labels in self.class_labels.values() for lb in labels}))
        self.rel_types = tuple(sorted(schema.relationships))
        for rel in self.rel_types:
            if not _IDENT.match(rel):
                raise ValueError(f"relationship type {rel!r} is not a plain identifier")

        # -- writes: each takes $rows (a batch) ------------------------------------
        # Nodes whose class changes lose every class label; the class upsert re-adds them.
        # Rare cases first, so the common upsert can be the cheap MERGE ... SET n += attributes:
        # a CI whose class changed loses its class labels (the class upsert adds the new ones),
        # and one whose set of properties changed gets its properties replaced.
        self.relabel_cis = (
            f"UNWIND $rows AS row MATCH (n:{CI_LABEL} {{uid: row.uid}}) WHERE n.ci_class <> row.ci_class "
            + ("REMOVE n:" + ":".join(self.all_class_labels) if self.all_class_labels else "SET n.ci_class = n.ci_class")
        )
        self.reset_cis = (
            f"UNWIND $rows AS row MATCH (n:{CI_LABEL} {{uid: row.uid}}) WHERE n.prop_keys <> row.prop_keys "
            "WITH n, row, n.created_at AS created SET n = {uid: row.uid, created_at: created}"
        )
        # Key rows are [key, uid]; keys of CIs created in the same batch are new (create_keys).
        self.upsert_keys = f"UNWIND $rows AS row MERGE (:{KEY_LABEL} {{key: row[0], uid: row[1]}})"
        self.create_keys = f"UNWIND $rows AS row CREATE (:{KEY_LABEL} {{key: row[0], uid: row[1]}})"
        self.remove_keys = f"UNWIND $rows AS row MATCH (x:{KEY_LABEL} {{key: row[0], uid: row[1]}}) DELETE x"
        # Deletes (purge): CIs go with their keys and sightings; history stays.
        self.delete_cis = f"UNWIND $rows AS row MATCH (n:{CI_LABEL} {{uid: row.uid}}) DETACH DELETE n"
        self.delete_keys_of = f"UNWIND $rows AS row MATCH (x:{KEY_LABEL} {{uid: row.uid}}) DELETE x"
        self.delete_sightings_of = (
            f"UNWIND $rows AS row MATCH (s:{SIGHTING_LABEL} {{subject_uid: row.uid}}) DELETE s"
        )
        # Rows are HISTORY_COLUMNS then the row's position (0-based): seq = counter before + position + 1.
        # The counter is incremented in place before anything reads it: the SET takes the node's
        # write lock, so under Neo4j's read-committed isolation a concurrent writer waits and then
        # sees this one's value. (Reading it into a variable first lost updates: two writers read
        # the same value and numbered their entries alike.)
        history_props = ", ".join(f"{name}: row[{i}]" for i, name in enumerate(HISTORY_COLUMNS))
        self.append_history = (
            f"MERGE (c:{COUNTER_LABEL} {{name: 'history'}}) ON CREATE SET c.value = 0 "
            "SET c.value = c.value + size($rows) "
            "WITH c.value - size($rows) AS base UNWIND $rows AS row "
            f"CREATE (:{HISTORY_LABEL} {{seq: base + row[{len(HISTORY_COLUMNS)}] + 1, {history_props}}})"
        )
        self.upsert_sightings = (
            f"UNWIND $rows AS row MERGE (s:{SIGHTING_LABEL} {{sid: row.sid}}) "
            "ON CREATE SET s.subject_uid = row.subject_uid, s.subject_kind = row.subject_kind, "
            "s.source = row.source, s.scope = row.scope, s.skey = row.skey "
            # What the sighting was before this run, kept once per run (later batches of the run leave
            # it), so that the run can be taken back if it is abandoned. Before run_id is replaced.
            "SET s.prev_run_id = CASE WHEN s.run_id = row.run_id THEN s.prev_run_id ELSE s.run_id END, "
            "s.prev_seen_at = CASE WHEN s.run_id = row.run_id THEN s.prev_seen_at ELSE s.seen_at END, "
            "s.prev_missed = CASE WHEN s.run_id = row.run_id THEN s.prev_missed ELSE s.missed END, "
            "s.run_id = row.run_id, s.missed = 0, "
            "s.seen_at = CASE WHEN s.seen_at IS NULL OR row.seen_at > s.seen_at THEN row.seen_at ELSE s.seen_at END"
        )
        # An abandoned run taken back: its sightings as they were before it (those it created stay,
        # as on SQLite), and the relationships' evidence it counted. A scan: abandoned runs are rare.
        self.abandon_sightings = (
            f"MATCH (s:{SIGHTING_LABEL}) WHERE s.run_id = $run_id AND s.prev_run_id IS NOT NULL "
            "SET s.run_id = s.prev_run_id, s.seen_at = s.prev_seen_at, s.missed = s.prev_missed + s.missed, "
            "s.prev_run_id = null, s.prev_seen_at = null, s.prev_missed = null"
        )
        # JSON cannot be read in Cypher: the store reads the relationships the run counted, then
        # writes their evidence back (only where the run is still the last to have counted it).
        self.abandoned_rels = (
            f"MATCH (a:{CI_LABEL})-[r]->(b:{CI_LABEL}) WHERE r.last_run = $run_id AND r.prev_run IS NOT NULL "
            "RETURN a.uid, b.uid, r.uid, " + ", ".join(f"r.{name}" for name in REL_PREVIOUS)
            + f", r.{LEGACY_PREV_EVIDENCE}"
        )
        self.restore_rel_evidence = (
            f"UNWIND $rows AS row MATCH (a:{CI_LABEL} {{uid: row[0]}})-[r]->(b:{CI_LABEL} {{uid: row[1]}}) "
            "WHERE r.uid = row[2] AND r.last_run = $run_id SET "
            + ", ".join(f"r.{name} = row[{3 + i}]" for i, name in enumerate(REL_EVIDENCE))
            + f", r.last_run = row[{3 + len(REL_EVIDENCE)}], "
            + ", ".join(f"r.{name} = null" for name in (*REL_PREVIOUS, LEGACY_PREV_EVIDENCE))
        )
        # Import: a sighting exactly as exported, its missed-run count included.
        self.restore_sightings = (
            f"UNWIND $rows AS row MERGE (s:{SIGHTING_LABEL} {{sid: row.sid}}) "
            "SET s.subject_uid = row.subject_uid, s.subject_kind = row.subject_kind, s.source = row.source, "
            "s.scope = row.scope, s.skey = row.skey, s.run_id = row.run_id, s.seen_at = row.seen_at, "
            "s.missed = row.missed"
        )
        self.upsert_runs = (
            f"UNWIND $rows AS row MERGE (r:{RUN_LABEL} {{run_id: row.run_id}}) "
            "ON CREATE SET r.source = row.source, r.scope = row.scope, r.started_at = row.started_at "
            "SET r.job = row.job, r.finished_at = row.finished_at, r.status = row.status, "
            "r.counts = row.counts, r.errors = row.errors, r.owner = row.owner, r.heartbeat_at = row.heartbeat_at, "
            "r.job_run_id = row.job_run_id, r.scan_started_at = row.scan_started_at, "
            "r.scan_finished_at = row.scan_finished_at"
        )
        # The store's write lock (Neo4j): the first statement of every ingest batch's explicit
        # transaction. Writing the one lock node takes its exclusive lock until the commit,
        # so the batch's key lookups and its write are serialised across processes, as
        # SQLite's BEGIN IMMEDIATE does (the counters' uniqueness constraint keeps it one node).
        self.take_write_lock = (
            f"MERGE (c:{COUNTER_LABEL} {{name: 'write_lock'}}) ON CREATE SET c.value = 0 SET c.value = c.value + 1"
        )
        # Bounded: one page (by subject uid) of a scope's sightings per call.
        self.mark_missed_page = (
            f"MATCH (s:{SIGHTING_LABEL} {{skey: $skey}}) WHERE s.subject_uid > $after AND s.run_id <> $run_id "
            "WITH s ORDER BY s.subject_uid LIMIT $limit "
            "SET s.missed = s.missed + 1 "
            "RETURN count(s), max(s.subject_uid)"
        )

        # -- reads ------------------------------------------------------------------
        # The lookups of a batch (keys, CIs, relationships by uid, sightings) return their rows as
        # one list (read them with CypherStore._listed): one Bolt message per read instead of one
        # per row, each of which Neo4j's driver parses in Python (a no-change re-ingest of 20k
        # read 170,000 rows).
        self.find_keys = f"UNWIND $keys AS k MATCH (x:{KEY_LABEL} {{key: k}}) {_listing('x.key, x.uid')}"
        self.get_cis = f"UNWIND $uids AS u MATCH (n:{CI_LABEL} {{uid: u}}) {_listing(_CI_RETURN)}"
        self.get_ci_heads = (
            f"UNWIND $uids AS u MATCH (n:{CI_LABEL} {{uid: u}}) {_listing('n.uid, n.ci_class, n.created_at')}"
        )
        self.current_classes = f"UNWIND $uids AS u MATCH (n:{CI_LABEL} {{uid: u}}) RETURN n.uid, n.ci_class"
        self.get_rels_by_ends = (
            f"UNWIND $rows AS row MATCH (a:{CI_LABEL} {{uid: row.src}})-[r]->(b:{CI_LABEL} {{uid: row.dst}}) "
            f"WHERE r.uid = row.uid {_listing(_REL_RETURN)}"
        )
        self.neighbours_out = (
            f"UNWIND $uids AS u MATCH (a:{CI_LABEL} {{uid: u}})-[r]->(b:{CI_LABEL}) "
            "WHERE ($types IS NULL OR type(r) IN $types) AND ($inactive OR r.lifecycle <> 'retired') "
            f"RETURN {_REL_RETURN}"
        )
        self.neighbours_in = (
            f"UNWIND $uids AS u MATCH (a:{CI_LABEL})-[r]->(b:{CI_LABEL} {{uid: u}}) "
            "WHERE ($types IS NULL OR type(r) IN $types) AND ($inactive OR r.lifecycle <> 'retired') "
            f"RETURN {_REL_RETURN}"
        )
        self.history = (
            f"MATCH (h:{HISTORY_LABEL} {{subject_uid: $uid}}) RETURN {_HISTORY_RETURN} ORDER BY h.seq LIMIT $limit"
        )
        self.page_nodes = (
            f"MATCH (n:{CI_LABEL}) WHERE n.uid > $after "
            "RETURN n.uid, n.ci_class, n.lifecycle, n.name, n.min_up, n.owner, n.uplink ORDER BY n.uid LIMIT $limit"
        )
        # Relationships are paged by their source CI (a scan of all edges per page
        # would make iterating quadratic): a page of CI uids, then their out-edges.
        self.page_uids = f"MATCH (n:{CI_LABEL}) WHERE n.uid > $after RETURN n.uid ORDER BY n.uid LIMIT $limit"
        self.edges_out = (
            f"UNWIND $uids AS u MATCH (a:{CI_LABEL} {{uid: u}})-[r]->(b:{CI_LABEL}) "
            "RETURN r.uid, a.uid, type(r), b.uid, r.method, r.confidence, r.lifecycle"
        )
        self.page_cis = f"MATCH (n:{CI_LABEL}) WHERE n.uid > $after RETURN {_CI_RETURN} ORDER BY n.uid LIMIT $limit"
        self.page_history = (
            f"MATCH (h:{HISTORY_LABEL}) WHERE h.seq > $after RETURN {_HISTORY_RETURN} ORDER BY h.seq LIMIT $limit"
        )
        self.page_keys = (
            f"MATCH (x:{KEY_LABEL}) WHERE x.key > $after_key OR (x.key = $after_key AND x.uid > $after_uid) "
            "RETURN x.key, x.uid ORDER BY x.key, x.uid LIMIT $limit"
        )
        self.page_sightings = (
            f"MATCH (s:{SIGHTING_LABEL}) WHERE s.sid > $after "
            "RETURN s.sid, s.subject_uid, s.subject_kind, s.source, s.scope, s.run_id, s.seen_at, s.missed "
            "ORDER BY s.sid LIMIT $limit"
        )
        self.count_cis = f"MATCH (n:{CI_LABEL}) RETURN count(n)"
        self.count_rels = f"MATCH (:{CI_LABEL})-[r]->(:{CI_LABEL}) RETURN count(r)"
        self.count_history = f"MATCH (h:{HISTORY_LABEL}) RETURN count(h)"
        self.count_runs = f"MATCH (r:{RUN_LABEL}) RETURN count(r)"
        self.get_run = f"MATCH (r:{RUN_LABEL} {{run_id: $run_id}}) RETURN {_RUN_RETURN}"
        self.list_runs = (
            f"MATCH (r:{RUN_LABEL}) WHERE ($source IS NULL OR r.source = $source) "
            "AND ($scope IS NULL OR r.scope = $scope) AND ($job IS NULL OR r.job = $job) "
            f"RETURN {_RUN_RETURN} ORDER BY r.started_at DESC, r.run_id DESC LIMIT $limit"
        )
        self.unfinished_runs = (
            f"MATCH (r:{RUN_LABEL}) WHERE r.status = 'running' RETURN {_RUN_RETURN} ORDER BY r.started_at, r.run_id"
        )
        self.sighting_scopes = (
            f"MATCH (s:{SIGHTING_LABEL}) WHERE s.source = $source AND s.scope STARTS WITH $prefix "
            "RETURN DISTINCT s.scope ORDER BY s.scope"
        )
        self.aging_page = (
            f"MATCH (s:{SIGHTING_LABEL} {{skey: $skey}}) WHERE s.subject_uid > $after AND s.run_id <> $run_id "
            "RETURN s.subject_uid, s.subject_kind ORDER BY s.subject_uid LIMIT $limit"
        )
        self.sighting_summary = (
            f"UNWIND $uids AS u MATCH (s:{SIGHTING_LABEL} {{subject_uid: u}}) "
            "RETURN u, min(s.missed), max(s.seen_at)"
        )
        self.sightings_of = (
            f"UNWIND $uids AS u MATCH (s:{SIGHTING_LABEL} {{subject_uid: u}}) "
            + _listing("s.subject_uid, s.subject_kind, s.source, s.scope, s.run_id, s.seen_at, s.missed")
        )
        self.ci_status = f"UNWIND $uids AS u MATCH (n:{CI_LABEL} {{uid: u}}) RETURN n.uid, n.ci_class, n.lifecycle"

    # -- per class and per relationship type -------------------------------------
    @staticmethod
    def _attribute_sets(attributes: tuple[str, ...] | None, replace: bool) -> str:
        """The attribute properties of a CI row: a map (``row[12]``), or, for rows that all
        have the same attributes, a list of their values in ``attributes`` order."""
        if not attributes:
            return f"n {'=' if replace else '+='} row[{CI_ATTRIBUTES}]"
        return ", ".join(f"n.{quote(name)} = row[{CI_ATTRIBUTES}][{i}]" for i, name in enumerate(attributes))

    def upsert_cis(self, ci_class: str, attributes: tuple[str, ...] | None = None) -> str:
        """Create or update CIs of one class: labels come from the class and its ancestors.

        Rows are :func:`codec.ci_row` lists; with ``attributes``, each row's attribute map is
        the list of its values for those names. ``created_at`` survives an update. Run after
        ``relabel_cis`` and ``reset_cis``: a node whose class changed gets the new labels
        here before the MERGE finds it.
        """
        own = self.class_labels[ci_class]
        labels = ":".join((CI_LABEL, *own))
        # relabel_cis stripped every class label from a node whose class changed:
        # lacking the class's own label means it needs this class's labels.
        leaf, new_labels = (own[0], ":".join(own)) if own else (CI_LABEL, CI_LABEL)
        return (
            f"UNWIND $rows AS row OPTIONAL MATCH (o:{CI_LABEL} {{uid: row[0]}}) WHERE NOT o:{leaf} "
            f"SET o:{new_labels} "
            f"WITH row MERGE (n:{labels} {{uid: row[0]}}) ON CREATE SET n.created_at = row[1] "
            f"SET {self._attribute_sets(attributes, False)}, {_sets('n', CI_COLUMNS, skip=('uid', 'created_at'))}"
        )

    def create_cis(self, ci_class: str, attributes: tuple[str, ...] | None = None) -> str:
        """Create CIs of one class known to be new (their ``create`` entry is in the batch).

        Half the server work of ``upsert_cis``: no lookups. The properties are in the
        CREATE pattern (on FalkorDB, a SET after the CREATE re-indexes the new node:
        ~7% more work). Should a uid exist after all, the uniqueness constraint on
        ``CI.uid`` fails the whole write, and the store writes the batch again with
        ``upsert_cis``.
        """
        labels = ":".join((CI_LABEL, *self.class_labels[ci_class]))
        props = [f"{name}: row[{i}]" for i, name in enumerate(CI_COLUMNS)]
        if attributes:
            listed = [f"{quote(name)}: row[{CI_ATTRIBUTES}][{i}]" for i, name in enumerate(attributes)]
            return f"{_CREATE}(n:{labels} {{{', '.join(listed + props)}}})"
        return f"{_CREATE}(n:{labels} {{{', '.join(props)}}}) SET n += row[{CI_ATTRIBUTES}]"

    def upsert_rels(self, rel_type: str, attributes: bool = True) -> str:
        """Create or update relationships of one type between existing CIs (rows: :func:`codec.rel_row`).

        An update replaces the properties (attributes gone from the row go from the
        relationship); a create only adds them, which is a tenth of the server's work
        per relationship less on FalkorDB. Without ``attributes`` the rows carry no
        attribute properties (an empty map in ``row[2]``), which a create then skips.
        """
        if rel_type not in self.schema.relationships:
            raise ValueError(f"unknown relationship type {rel_type!r}")
        uid = f"row[{REL_FIRST}]"
        on_create = _sets("r", REL_COLUMNS, REL_FIRST, skip=("uid",))
        if attributes:
            on_create = f"r += row[2], {on_create}"
        # On a match, one map holding every property replaces them all: properties gone from
        # it go, and Neo4j leaves a property whose value is unchanged untouched. (Replacing
        # with the attributes alone, then setting the columns, removed and re-wrote every
        # property of every relationship a re-scan saw again: most of a no-change re-ingest's
        # server work on Neo4j.)
        every = ", ".join(f"{name}: row[{REL_FIRST + i}]" for i, name in enumerate(REL_COLUMNS))
        # ... and the evidence from before this run, which an abandoned run's take-back restores:
        # copied on the server, as SQLite's upsert does (reading it first cost a third of the
        # server's work per relationship written). The first write of a run keeps what the
        # relationship had; a later one of the same run keeps what the first one kept.
        last_run = f"row[{REL_FIRST + REL_COLUMNS.index('last_run')}]"
        same_run = f"(r.last_run = {last_run} OR (r.last_run IS NULL AND {last_run} IS NULL))"
        copies = [(f"prev_{name}", name) for name in REL_EVIDENCE] + [("prev_run", "last_run")]
        previous = ", ".join(f"{kept}: CASE WHEN {same_run} THEN r.{kept} ELSE r.{name} END" for kept, name in copies)
        # A store written before kept the evidence as one JSON list: kept while its run goes on.
        legacy = f"{LEGACY_PREV_EVIDENCE}: CASE WHEN {same_run} THEN r.{LEGACY_PREV_EVIDENCE} END"
        return (
            f"UNWIND $rows AS row MATCH (a:{CI_LABEL} {{uid: row[0]}}) MATCH (b:{CI_LABEL} {{uid: row[1]}}) "
            f"WITH a, b, row, row[2] AS attributes MERGE (a)-[r:{rel_type} {{uid: {uid}}}]->(b) "
            f"ON CREATE SET {on_create} ON MATCH SET r = attributes{{.*, {every}, {previous}, {legacy}}}"
        )

    def delete_rels(self, rel_type: str) -> str:
        """Delete relationships of one type, found from their source CI (rows: src, uid)."""
        if rel_type not in self.schema.relationships:
            raise ValueError(f"unknown relationship type {rel_type!r}")
        return (f"UNWIND $rows AS row MATCH (a:{CI_LABEL} {{uid: row.src}})-[r:{rel_type}]->(b:{CI_LABEL}) "
                "WHERE r.uid = row.uid DELETE r")

    def rel_by_uid(self, rel_type: str) -> str:
        """Look relationships of one type up by uid alone, through the type's uid index.

        Only for uids not of the ``src:TYPE:dst`` form, which go through the CI index.
        """
        if rel_type not in self.schema.relationships:
            raise ValueError(f"unknown relationship type {rel_type!r}")
        return (f"UNWIND $uids AS u MATCH (a:{CI_LABEL})-[r:{rel_type} {{uid: u}}]->(b:{CI_LABEL}) "
                + _listing(_REL_RETURN))

    def search(self, shape: SearchShape) -> str:
        """The search statement for one shape; values travel as parameters."""
        where: list[str] = []
        if shape.classes:
            where.append("n.ci_class IN $classes")
        if shape.statuses:
            where.append("n.lifecycle IN $statuses")
        if shape.text:
            where.append(
                "(n.uid = $text OR toLower(n.name) CONTAINS $text_lower OR n.search_text CONTAINS $text_lower)"
            )
        for i, (attribute, op) in enumerate(shape.filters):
            prop = f"n.{quote(attribute)}"
            if op == "contains":
                where.append(f"toLower(toString({prop})) CONTAINS toLower(toString($f{i}))")
            elif op in FILTER_OPS:
                where.append(f"{prop} {FILTER_OPS[op]} $f{i}")
            else:
                raise ValueError(f"unknown filter operator {op!r}")
        if shape.after:
            where.append("n.uid > $after")
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        return f"MATCH (n:{CI_LABEL}){clause} RETURN {_CI_RETURN} ORDER BY n.uid LIMIT $limit"

    # -- the catalogue the linter checks ---------------------------------------
    def catalogue(self) -> Iterator[tuple[str, str]]:
        """Every statement text this module can produce for the schema, with a name."""
        for name, value in vars(self).items():
            if isinstance(value, str):
                yield name, value
        yield from change_log.STATEMENTS.items()
        for ci_class in sorted(self.schema.classes):
            yield f"upsert_cis[{ci_class}]", self.upsert_cis(ci_class)
        for ci_class in sorted(self.schema.classes):
            yield f"create_cis[{ci_class}]", self.create_cis(ci_class)
        # With the attributes as a list: they differ from the map form only in the
        # attribute names, which quote() admits only as backticked plain identifiers
        # (see attribute_list_as_map).
        attributes = ("fqdn", "serial_number")
        yield f"upsert_cis[host, {attributes}]", self.upsert_cis("host", attributes)
        yield f"create_cis[host, {attributes}]", self.create_cis("host", attributes)
        for rel_type in self.rel_types:
            yield f"upsert_rels[{rel_type}]", self.upsert_rels(rel_type)
        for rel_type in self.rel_types:
            yield f"upsert_rels[{rel_type}, no attributes]", self.upsert_rels(rel_type, attributes=False)
        for rel_type in self.rel_types:
            yield f"rel_by_uid[{rel_type}]", self.rel_by_uid(rel_type)
        for rel_type in self.rel_types:
            yield f"delete_rels[{rel_type}]", self.delete_rels(rel_type)
        for classes, statuses, text, after in product((False, True), repeat=4):
            shape = SearchShape(classes=classes, statuses=statuses, text=text, after=after)
            yield f"search{(classes, statuses, text, after)}", self.search(shape)
        # Filters differ only in the operator and in the attribute name, which
        # quote() admits only as a backticked plain identifier.
        for op in (*FILTER_OPS, "contains"):
            shape = SearchShape(True, True, True, True, (("fqdn", op), ("name", "eq")))
            yield f"search[{op}]", self.search(shape)

    def labels(self) -> list[str]:
        """Every node label the statements may name."""
        return sorted({*SYSTEM_LABELS, *change_log.LABELS, *self.all_class_labels})

    def property_keys(self) -> list[str]:
        """Every property name the statements may touch (for the linter's schema check)."""
        names = set(CI_RESERVED) | set(REL_RESERVED)
        names |= {a for c in self.schema.classes.values() for a in c.attributes}
        names |= set(change_log.PROPERTY_KEYS)
        names |= {"key", "seq", "subject_uid", "subject_kind", "action", "changes", "source", "run_id", "at",
                  "sid", "skey", "scope", "seen_at", "missed", "started_at", "finished_at", "status", "job",
                  "counts", "errors", "owner", "heartbeat_at", "job_run_id", "scan_started_at", "scan_finished_at",
                  "name", "value",
                  "src", "dst", "prop_keys", "prev_run_id", "prev_seen_at", "prev_missed",
                  *REL_PREVIOUS, LEGACY_PREV_EVIDENCE}  # keys of the few $rows maps, and prop_keys
        return sorted(names)
