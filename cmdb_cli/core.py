"""Core commands: ingest observations, look up CIs, search, history, scan runs."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from cmdb.errors import NotFound
from cmdb.model import CI, AttrFilter, CIQuery, HistoryEntry, Lifecycle, ScanRun
from cmdb.store.protocol import Direction
from cmdb_cli.context import (
    LogConfig,
    configure_logging,
    console,
    err_console,
    open_ingestor,
    open_store,
    print_json,
    schema,
)

StoreOpt = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file).")
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _when(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def ci_to_dict(ci: CI) -> dict[str, Any]:
    return {
        "uid": ci.uid, "class": ci.ci_class, "status": ci.status.value, "name": ci.name,
        "attributes": ci.attributes, "created_at": ci.created_at, "updated_at": ci.updated_at,
        "parent_uid": ci.parent_uid, "duplicate_of": ci.duplicate_of, "merged_into": ci.merged_into,
        "provenance": {k: {"source": p.source, "observed_at": p.observed_at} for k, p in ci.provenance.items()},
    }


def run_to_dict(run: ScanRun) -> dict[str, Any]:
    data = asdict(run)
    data["status"] = run.status.value
    return data


def _read_lines(path: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(1-based line number, decoded JSON object); a line that is not one (invalid UTF-8 or JSON,
    nested past what the decoder can take, not an object) gives its error text instead.

    Lines are read as bytes, so one bad byte costs its line only.
    """
    handle = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    try:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, f"line {number}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                continue
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"line {number}: invalid JSON: {exc.msg}"
                continue
            except RecursionError:
                yield number, f"line {number}: JSON nested too deep"
                continue
            yield number, value if isinstance(value, dict) else f"line {number}: expected a JSON object"
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt (as SIGINT does), so the run closes with the reason."""
    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ingest(
    file: str = typer.Argument(..., help="JSON lines of observations and relations ('-' for stdin)."),
    source: str = typer.Option(..., "--source", help="Source name of the items (e.g. sample, aws, manual)."),
    scope: str = typer.Option(..., "--scope", help="Scope of this run (what a complete run ages within)."),
    complete: bool = typer.Option(True, "--complete/--incomplete",
                                  help="Whether this file is everything the source sees in the scope."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Ingest a JSON-lines file of observations as one scan run.

    The run is complete only if every line was read and applied; a rejected line
    makes it incomplete (nothing ages on its account) and the exit code 2, with the
    rejections listed by line number. Ctrl-C (or SIGTERM) ends the run incomplete
    and exits 130.
    """
    store = open_store(store_url)
    ingestor = open_ingestor(store)
    decode_errors: list[str] = []
    lines: list[int] = []  # the file's line number of each item handed to the ingest, by position

    def items() -> Iterator[dict[str, Any]]:
        for number, entry in _read_lines(file):
            if isinstance(entry, str):
                decode_errors.append(entry)
            else:
                lines.append(number)
                yield entry

    opened: list[str] = []
    try:
        with _terminate_as_interrupt(), ingestor.run(source, scope) as run:
            opened.append(run.run_id)
            run.ingest(items())
            if decode_errors:
                run.error(*decode_errors)
                run.incomplete(f"{len(decode_errors)} line(s) could not be read")
            if not complete:
                run.incomplete("ingested with --incomplete")
    except KeyboardInterrupt as exc:
        closed = f"run {opened[0]} closed incomplete" if opened else "no run started"
        err_console.print(f"[red]interrupted[/red] ({exc or 'SIGINT'}): {closed}")
        raise typer.Exit(code=130) from None
    finally:
        store.close()
    finished, report = run.finished, run.report
    assert finished is not None
    rejected = [{"line": lines[e.index], "field": e.field, "message": e.message} for e in report.rejected]
    # Every line that did not make it, in file order: unreadable ones and rejected items.
    problems = [text for _, text in sorted(
        [(int(e.split(":", 1)[0].removeprefix("line ")), e) for e in decode_errors]
        + [(r["line"], f"line {r['line']}: {r['field']}: {r['message']}") for r in rejected])]
    if as_json:
        print_json({"run": run_to_dict(finished), "rejected": rejected, "unreadable": decode_errors})
    else:
        counts = report.as_counts()
        console.print(f"run {finished.run_id} {finished.status.value}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for problem in problems[:50]:
            err_console.print(f"[red]rejected[/red] {problem}")
        if len(problems) > 50:
            err_console.print(f"... and {len(problems) - 50} more")
    if problems:
        raise typer.Exit(code=2)


def ci(
    uid: str = typer.Argument(..., help="The CI's uid."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show one CI with its attributes, provenance and relationships."""
    store = open_store(store_url)
    found = store.get_cis([uid]).get(uid)
    if found is None:
        err_console.print(str(NotFound("CI", uid)))
        raise typer.Exit(code=1)
    rels = store.neighbours([uid], Direction.BOTH, include_inactive=True)
    others = store.get_cis({r.target_uid if r.source_uid == uid else r.source_uid for r in rels})
    store.close()
    if as_json:
        data = ci_to_dict(found)
        data["relationships"] = [
            {"uid": r.uid, "type": r.type, "from": r.source_uid, "to": r.target_uid, "status": r.status.value,
             "evidence": asdict(r.evidence)} for r in rels
        ]
        print_json(data)
        return
    console.print(f"[bold]{found.name}[/bold]  {found.ci_class}  {found.status.value}  uid={found.uid}")
    table = Table("attribute", "value", "source", "observed")
    for key in sorted(found.attributes):
        prov = found.provenance.get(key)
        table.add_row(key, json.dumps(found.attributes[key], default=str)[:80],
                      prov.source if prov else "-", _when(prov.observed_at if prov else None))
    console.print(table)
    rel_table = Table("relationship", "other CI", "class", "status", "method", "seen")
    for r in rels:
        other_uid = r.target_uid if r.source_uid == uid else r.source_uid
        other = others.get(other_uid)
        arrow = f"-[{r.type}]->" if r.source_uid == uid else f"<-[{r.type}]-"
        rel_table.add_row(arrow, other.name if other else other_uid, other.ci_class if other else "?",
                          r.status.value, r.evidence.method, str(r.evidence.times_seen))
    console.print(rel_table)


def _parse_filter(raw: str) -> AttrFilter:
    for token, op in ((">=", "ge"), ("<=", "le"), ("!=", "ne"), ("=", "eq"), (">", "gt"), ("<", "lt"), ("~", "contains")):
        if token in raw:
            name, value = raw.split(token, 1)
            parsed: Any = value
            with contextlib.suppress(json.JSONDecodeError):
                parsed = json.loads(value)
            return AttrFilter(name.strip(), op, parsed)
    raise typer.BadParameter(f"filter {raw!r} must look like attr=value, attr>=n, attr~text")


def search(
    text: str | None = typer.Argument(None, help="Text to look for in names and attribute values."),
    ci_class: list[str] = typer.Option([], "--class", "-c", help="CI class (subclasses included); repeatable."),
    where: list[str] = typer.Option([], "--where", "-w", help="Attribute filter: attr=value, attr>=n, attr~text."),
    status: list[str] = typer.Option([], "--status", help="Lifecycle status: active, stale, retired."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    after: str | None = typer.Option(None, "--after", help="Cursor: the last uid of the previous page."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Search CIs by class, attributes, text and status."""
    sch = schema()
    classes: set[str] = set()
    for name in ci_class:
        if name not in sch.classes:
            raise typer.BadParameter(f"unknown class {name!r}; known: {', '.join(sch.concrete())}")
        classes |= sch.subtree(name)
    statuses = tuple(Lifecycle(s) for s in status)
    query = CIQuery(classes=tuple(sorted(classes)), text=text, filters=tuple(_parse_filter(w) for w in where),
                    statuses=statuses, after=after, limit=limit)
    store = open_store(store_url)
    page = store.search(query)
    store.close()
    if as_json:
        print_json({"items": [ci_to_dict(c) for c in page.items], "has_next": page.has_next,
                    "end_cursor": page.end_cursor})
        return
    table = Table("uid", "class", "name", "status")
    for item in page.items:
        table.add_row(item.uid, item.ci_class, item.name, item.status.value)
    console.print(table)
    if page.has_next:
        console.print(f"more: --after {page.end_cursor}")


def history(
    uid: str = typer.Argument(..., help="A CI or relationship uid."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """What changed on a CI (or relationship), when, by which source and run."""
    store = open_store(store_url)
    entries: list[HistoryEntry] = store.history(uid)
    store.close()
    if as_json:
        print_json([{**asdict(e), "action": e.action.value} for e in entries])
        return
    table = Table("when", "action", "source", "run", "changes")
    for e in entries:
        changes = "; ".join(f"{k}: {json.dumps(v[0], default=str)} -> {json.dumps(v[1], default=str)}"
                            for k, v in e.changes.items())
        table.add_row(_when(e.at), e.action.value, e.source, (e.run_id or "-")[:8], changes[:200])
    console.print(table)


def runs(
    source: str | None = typer.Option(None, "--source"),
    scope: str | None = typer.Option(None, "--scope"),
    job: str | None = typer.Option(None, "--job", help="Only the runs of this discovery job."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Recent scan runs: source, scope, status, counts and errors."""
    store = open_store(store_url)
    found = store.list_runs(source, scope, limit, job=job)
    store.close()
    if as_json:
        print_json([run_to_dict(r) for r in found])
        return
    table = Table("run", "job", "source", "scope", "started", "status", "changes", "errors")
    for r in found:
        c = r.counts
        changes = (f"+{c.get('created', 0)} ~{c.get('updated', 0)} ={c.get('unchanged', 0)}"
                   f" stale {c.get('stale', 0)} retired {c.get('retired', 0)}")
        table.add_row(r.run_id[:8], r.job or "-", r.source, r.scope, _when(r.started_at), r.status.value,
                      changes, str(len(r.errors)))
    console.print(table)


def purge(
    retired_for: float | None = typer.Option(None, "--retired-for", min=0, help="Days a CI must have been retired."),
    runs_older_than: float | None = typer.Option(
        None, "--runs-older-than", min=0,
        help="Delete run records finished more than this many days ago (each source and scope keeps its newest)."),
    history_older_than: float | None = typer.Option(
        None, "--history-older-than", min=0,
        help="Delete history entries older than this many days (each CI and relationship keeps its newest)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list the retired CIs that would be deleted."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Delete CIs retired for longer than --retired-for days (their history is kept), and run records and
    history past their retention."""
    from cmdb.observation import now_ms
    from cmdb.purge import purge_retired
    from cmdb.retention import RetentionUnsupported, prune

    if retired_for is None and runs_older_than is None and history_older_than is None:
        err_console.print("purge: give --retired-for, --runs-older-than or --history-older-than")
        raise typer.Exit(code=2)
    if dry_run and (runs_older_than is not None or history_older_than is not None):
        err_console.print("purge: --dry-run lists retired CIs only; run retention without it")
        raise typer.Exit(code=2)
    store = open_store(store_url)
    now = now_ms()
    try:
        report = purge_retired(store, now, retired_for, dry_run=dry_run) if retired_for is not None else None
        kept = prune(store, now, runs_older_than, history_older_than) \
            if runs_older_than is not None or history_older_than is not None else None
    except RetentionUnsupported as exc:
        err_console.print(f"purge: {exc}")
        raise typer.Exit(code=2) from None
    finally:
        store.close()
    if as_json:
        print_json({"cis": report.cis if report else [], "relationships": report.relationships if report else 0,
                    "runs": kept.runs if kept else 0, "history": kept.history if kept else 0, "dry_run": dry_run})
        return
    if report is not None:
        verb = "would delete" if dry_run else "deleted"
        console.print(f"{verb} {len(report.cis)} CIs and {report.relationships} relationships")
    if kept is not None:
        console.print(f"deleted {kept.runs} run records and {kept.history} history entries")


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    @app.callback()
    def _root(
        log_level: str = typer.Option("WARNING", "--log-level", envvar="CMDB_LOG_LEVEL", help="Log level."),
        json_logs: bool = typer.Option(False, "--json-logs", envvar="CMDB_JSON_LOGS", help="Logs as JSON lines."),
        library_log_level: str = typer.Option(
            "WARNING", "--library-log-level", envvar="CMDB_LIBRARY_LOG_LEVEL",
            help="Level of third-party libraries' logs (asyncssh, pysnmp, apscheduler, httpx, botocore...)."),
        log_file: str | None = typer.Option(
            None, "--log-file", envvar="CMDB_LOG_FILE",
            help="Write logs to this file, rotated by size, instead of stderr (under systemd, leave it unset: "
                 "journald keeps and rotates stderr)."),
        log_file_max_mb: int = typer.Option(50, "--log-file-max-mb", envvar="CMDB_LOG_FILE_MAX_MB", min=1,
                                            help="Rotate the log file past this size."),
        log_file_backups: int = typer.Option(5, "--log-file-backups", envvar="CMDB_LOG_FILE_BACKUPS", min=0,
                                             help="Rotated log files kept."),
    ) -> None:
        configure_logging(config=LogConfig(log_level, json_logs, library_log_level, log_file,
                                           log_file_max_mb * 1024 * 1024, log_file_backups))

    app.command("ingest")(ingest)
    app.command("ci")(ci)
    app.command("search")(search)
    app.command("history")(history)
    app.command("runs")(runs)
    app.command("purge")(purge)
