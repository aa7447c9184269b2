"""The local Neo4j launcher: it goes away with its parent, whatever way the parent goes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cmdb.store.cypher.neo4j_server import bolt_answers

ROOT = Path(__file__).resolve().parents[3]

PARENT = """
import sys
from pathlib import Path
from cmdb.store.cypher.neo4j_server import Neo4jServer
server = Neo4jServer(Path(sys.argv[1]), heap_mb=256, pagecache_mb=32).start()
print(server.pid, server.port, flush=True)
sys.stdin.read()  # until the test kills this process
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone too: only its (dead) parent could reap it.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_neo4j_shuts_down_cleanly_when_its_parent_is_killed(tmp_path: Path) -> None:
    data_dir = tmp_path / "neo4j"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(data_dir)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert parent.stdout is not None
    line = parent.stdout.readline()  # blocks until Neo4j answers Bolt (or the parent fails)
    assert line, f"the parent exited with {parent.wait(timeout=30)} before Neo4j was up"
    pid, port = (int(x) for x in line.split())
    try:
        assert bolt_answers(port)
        os.kill(parent.pid, signal.SIGKILL)  # no chance to stop anything: the launcher must notice
        parent.wait(timeout=30)
        deadline = time.monotonic() + 120
        while not _gone(pid):
            assert time.monotonic() < deadline, "Neo4j outlived its parent by 120 s"
            time.sleep(0.2)
        assert not bolt_answers(port)
        # A clean shutdown, not a crash: the databases were checkpointed and closed.
        log = (data_dir / "logs" / "debug.log").read_text()
        assert "Checkpoint triggered by \"Database shutdown\"" in log
        assert "Stopped 'DatabaseId{" in log and "[neo4j]}' successfully" in log
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_tls_to_a_real_neo4j_with_a_ca_file_or_a_self_signed_scheme(tmp_path: Path) -> None:
    """Bolt with TLS required: ``tls=true&ca_file=`` and ``bolt+ssc://`` connect, plain Bolt and an
    untrusted certificate do not."""
    import pytest

    from cmdb.store.cypher.neo4j_server import Neo4jServer
    from cmdb.store.cypher.neo4j_transport import Neo4jOptions, Neo4jTransport
    from cmdb.store.cypher.transport import StoreUnavailable
    from cmdb.store.factory import open_store

    tls = tmp_path / "tls"
    tls.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tls / "private.key"),
                    "-out", str(tls / "public.crt")], check=True, capture_output=True)
    with Neo4jServer(tmp_path / "neo4j", heap_mb=256, pagecache_mb=32, tls_dir=tls) as server:
        base = f"127.0.0.1:{server.port}"
        for url in (f"bolt://{base}?tls=true&ca_file={tls / 'public.crt'}", f"bolt+ssc://{base}",
                    f"neo4j://{base}?tls=true&ca_file={tls / 'public.crt'}"):
            store = open_store(url, env={})
            try:
                assert store.counts().cis == 0, url
            finally:
                store.close()
        for encrypted in (False, True):  # no TLS; TLS trusting the system CAs only
            transport = Neo4jTransport(Neo4jOptions(uri=f"bolt://{base}", encrypted=encrypted, max_retry_seconds=1,
                                                    connection_timeout=5))
            try:
                with pytest.raises(StoreUnavailable):
                    transport.read("RETURN 1", {})
            finally:
                transport.close()
