"""Logs that say what is wrong (issue 25 item 5), read from the real output of real processes."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cmdb_cli.context import LogConfig, configure_logging

CMDB = str(Path(sys.executable).with_name("cmdb"))


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CMDB_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", "CMDB_TEST_COMMUNITY": "public"}


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object, or this raises


def _all_logs(directory: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(directory.iterdir())) if directory.exists() else ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_failing_target_logs_one_structured_warning(tmp_path: Path) -> None:
    port = _free_port()  # nothing answers there
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        "  - name: campus\n    scanner: snmp\n    credentials: {community: env:CMDB_TEST_COMMUNITY}\n"
        f"    options: {{scope: campus-a, port: {port}, targets: [{{seeds: [127.0.0.1, 127.0.0.2]}}], "
        "timeout: 0.2, retries: 0}\n", encoding="utf-8")
    result = subprocess.run([CMDB, "--json-logs", "discover", "job", "campus", "-j", str(jobs), "--json"],
                            capture_output=True, text=True, timeout=120, env=_env(tmp_path), check=False)
    assert result.returncode == 1, result.stderr
    records = _json_lines(result.stderr)
    failed = [r for r in records if r.get("event") == "target_failed"]
    assert {(r["level"], r["job"], r["source"], r["scope"], r["target"]) for r in failed} == {
        ("warning", "campus", "snmp", "campus-a", f"127.0.0.1:{port}"),
        ("warning", "campus", "snmp", "campus-a", f"127.0.0.2:{port}"),
    }
    assert len(failed) == 2  # one line per target
    assert all("no response" in r["reason"] or "timeout" in r["reason"] for r in failed), failed
    assert "public" not in result.stderr  # the community never shows


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_writes_json_logs_and_optional_request_lines(tmp_path: Path, workers: int) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_file = tmp_path / "logs" / "cmdb.log"
    proc = subprocess.Popen(
        [CMDB, "--json-logs", "--log-level", "INFO", "--log-file", str(log_file), "serve", "--port", str(port),
         "--access-log", "--workers", str(workers), "--store", f"sqlite:///{tmp_path / 'cmdb.sqlite'}", "--tokens", str(tmp_path / "t.sqlite")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path))
    try:
        deadline = time.monotonic() + 90
        status = None
        while status is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    status = response.status
            except OSError:
                time.sleep(0.2)
        assert status == 200, proc.stderr.read() if proc.stderr and proc.poll() is not None else "no answer"
        # The access line is written after the response: wait for it in the file.
        while time.monotonic() < deadline and "/healthz" not in _all_logs(log_file.parent):
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    # One rotating file per process: the supervisor's, and each worker's beside it.
    names = sorted(p.name for p in log_file.parent.iterdir())
    worker_files = [n for n in names if re.fullmatch(r"cmdb-worker\d+\.log", n)]  # named after the worker's pid
    assert names == sorted(["cmdb.log", *worker_files]) and len(worker_files) == workers - (workers == 1)
    records = _json_lines(_all_logs(log_file.parent))
    loggers = {r.get("logger") for r in records}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers
    access = [r for r in records if r.get("logger") == "uvicorn.access"]
    assert any("GET /healthz" in r["event"] and "200" in r["event"] for r in access), access


def test_library_chatter_stays_at_warning_and_the_log_file_rotates(tmp_path: Path) -> None:
    path = tmp_path / "cmdb.log"
    try:
        configure_logging(config=LogConfig(level="INFO", json_logs=True, log_file=str(path), max_bytes=4000,
                                           backups=2))
        for i in range(200):
            logging.getLogger("asyncssh").info("asyncssh chatter %d", i)
            logging.getLogger("apscheduler.scheduler").info("apscheduler chatter %d", i)
            logging.getLogger("discovery.scheduler").info("ours %d", i)
        logging.getLogger("pysnmp").warning("a library warning")
        logging.getLogger().handlers[0].flush()
        files = sorted(p.name for p in tmp_path.iterdir())
        assert files == ["cmdb.log", "cmdb.log.1", "cmdb.log.2"]  # rotated, two backups kept
        records = [r for name in files for r in _json_lines((tmp_path / name).read_text(encoding="utf-8"))]
        assert {r["logger"] for r in records} == {"discovery.scheduler", "pysnmp"}
        assert [r["event"] for r in records if r["logger"] == "pysnmp"] == ["a library warning"]
        assert records[-1]["event"] in {f"ours {i}" for i in range(200)} | {"a library warning"}
    finally:
        configure_logging(config=LogConfig())
