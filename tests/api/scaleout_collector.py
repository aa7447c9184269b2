"""A remote collector for the scale-out test, run as its own process:

    python -m tests.api.scaleout_collector URL TOKEN NAME BATCHES

Posts BATCHES batches to ``URL/api/v1/collect`` (through the load balancer), batch i
adding bucket ``NAME-b{i}`` that DEPENDS_ON database ``NAME-db``, source aws, scope ``NAME``.
Prints one JSON line per batch: its number and the change-log position the answering
replica reported after writing it (``X-Cmdb-Log-Position``). Exits 1 on any refusal.
"""

from __future__ import annotations

import json
import sys

import httpx


def batch(name: str, i: int) -> dict[str, object]:
    items = [
        {"class": "database", "source": "aws", "scope": name, "identifiers": {"db_id": f"{name}-db"},
         "attributes": {"name": f"{name}-db"}},
        {"class": "bucket", "source": "aws", "scope": name, "identifiers": {"bucket_name": f"{name}-b{i}"},
         "attributes": {"name": f"{name}-b{i}"}},
        {"kind": "rel", "type": "DEPENDS_ON", "source": "aws", "scope": name,
         "from": {"class": "bucket", "identifiers": {"bucket_name": f"{name}-b{i}"}},
         "to": {"class": "database", "identifiers": {"db_id": f"{name}-db"}}},
    ]
    # Not complete: a batch is one part of the collector's view, nothing it did not send ages.
    return {"source": "aws", "scope": name, "complete": False, "items": items}


def main(url: str, token: str, name: str, batches: int) -> int:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for i in range(batches):
            reply = client.post("/api/v1/collect", json=batch(name, i))
            if reply.status_code != 200 or reply.json().get("errors"):
                print(json.dumps({"batch": i, "status": reply.status_code, "body": reply.text}), flush=True)
                return 1
            print(json.dumps({"batch": i, "position": int(reply.headers["x-cmdb-log-position"])}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
