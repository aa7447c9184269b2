"""The change log's Cypher statements and labels (``cmdb.store.cypher.change_log``), apart so that
``statements`` can list them for the linter without an import cycle."""

from __future__ import annotations

HEAD_LABEL = "CmdbChangeLog"
ENTRY_LABEL = "CmdbChange"
LABELS = (HEAD_LABEL, ENTRY_LABEL)
PROPERTY_KEYS = ("name", "position", "at", "payload")
PRUNE_BATCH = 1000  # entries pruned per write at most: a long-idle store catches up over a few writes

APPEND = (
    f"MERGE (h:{HEAD_LABEL} {{name: 'changes'}}) ON CREATE SET h.position = 0 "
    "SET h.position = h.position + 1 "
    f"CREATE (:{ENTRY_LABEL} {{position: h.position, at: $at, payload: $payload}})"
)
PRUNE = (
    f"MATCH (e:{ENTRY_LABEL}) WHERE e.at < $cutoff "
    "WITH e ORDER BY e.position LIMIT $limit DELETE e"
)
POSITION = f"MATCH (h:{HEAD_LABEL} {{name: 'changes'}}) RETURN h.position"
READ = (
    f"MATCH (e:{ENTRY_LABEL}) WHERE e.position > $after "
    "RETURN e.position, e.at, e.payload ORDER BY e.position LIMIT $limit"
)
STATEMENTS = {"change_log_append": APPEND, "change_log_prune": PRUNE, "change_log_position": POSITION,
              "change_log_read": READ}
