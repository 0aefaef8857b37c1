"""The ``hubwatch`` command line (typer + rich).

Every command that needs the database uses ``DATABASE_URL`` when set, else the embedded
PostgreSQL in ``HUBWATCH_DATA_DIR`` (shared by every hubwatch process using it, started
when none runs and stopped once no process uses it), migrated to head first. Analyst
commands (export, report, ``sql --analyst``) connect as an analyst login instead.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

# Before Prefect is imported: a temporary API server may take long to start on a busy
# 2-core machine (default 20 s), and no telemetry leaves the machine (server or client).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")  # Prefect's client-side telemetry too
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

app = typer.Typer(help="hubwatch: track China's innovation hubs and the 15th Five-Year Plan "
                       "in policy and commentary pages.", no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode="markdown")
db_app = typer.Typer(help="The database: embedded server lifecycle and migrations.", rich_markup_mode="markdown",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")

server_app = typer.Typer(rich_markup_mode="markdown", help="The managed local Prefect server flow commands use when "
                              "PREFECT_API_URL is unset.", no_args_is_help=True)
app.add_typer(server_app, name="server")
# Messages carry user text (patterns, URLs, titles with brackets): never read as markup.
console = Console(stderr=True, markup=False, highlight=False)
out = Console(markup=False, highlight=False)


#: Set by the ``hubwatch`` entry point (hubwatch.__main__): this process is the command
#: and ends with it. Unset when the app is called in-process (tests' CliRunner).
ENTRY_POINT = False


def pause_collector() -> None:
    """Pause the cyclic garbage collector while a command imports its heavy modules
    (entry point only; see hubwatch.__main__)."""
    if ENTRY_POINT:
        gc.disable()


def resume_collector() -> None:
    """Resume it, the objects imported so far kept out of its passes (``gc.freeze``)."""
    if ENTRY_POINT and not gc.isenabled():
        gc.freeze()
        gc.enable()


@app.callback()
def _startup() -> None:
    # Runs before every command: the CLI's own imports are done (no docstring: it would
    # become the app's help).
    resume_collector()


def _fail(message: str, code: int = 2) -> None:
    """Print ``error: MESSAGE`` on stderr, literally, and exit with ``code`` (2: usage)."""
    # soft_wrap: one line however long, so scripts can grep it whole
    console.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)
    raise typer.Exit(code)


def _cell(value: object) -> Text:
    """A table cell shown as written: rich reads plain strings in tables as markup."""
    return Text(str(value))


def _prepare_db() -> str:
    """Database URL, migrated to head (under an advisory lock: workers may start together).

    The URL holds the application role's password: pass it on, never print it.
    """
    from hubwatch.models.db import database_url
    from hubwatch.models.embedded import EmbeddedError

    try:
        url = database_url()
    except EmbeddedError as exc:
        _fail(f"embedded PostgreSQL: {exc}")
    upgrade_locked(url)
    return url


def upgrade_locked(url: str) -> None:
    """Migrate to head under the migration lock, waited for at most
    HUBWATCH_LOCK_WAIT_SECONDS; fails naming the session that holds it."""
    from sqlalchemy import text

    from hubwatch.contract import MIGRATION_LOCK_KEY
    from hubwatch.models.db import get_engine, upgrade
    from hubwatch.models.locks import LockBusy, acquire

    with get_engine(url).connect() as conn:
        try:
            acquire(conn, MIGRATION_LOCK_KEY, what="migrations")
        except LockBusy as exc:
            _fail(str(exc))
        conn.commit()
        try:
            upgrade(url)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            conn.commit()


def _check_config() -> list[str]:
    """Validate the config files before anything is fetched (file:line: key: message);
    return a line per file saying what it holds."""
    from hubwatch.config.alerts import load_alerts
    from hubwatch.config.loader import ConfigError
    from hubwatch.config.settings import get_settings
    from hubwatch.config.sources import load_sources
    from hubwatch.config.watchlist import load_watchlist
    from hubwatch.mentions.match import Matcher

    settings = get_settings()
    try:
        sources = load_sources(settings.sources_file)
        watchlist = load_watchlist(settings.watchlist_file)
        Matcher.shared(watchlist)  # names that collide once folded are the matcher's to find
        alerts = load_alerts(settings.alerts_file)
    except ConfigError as exc:
        _fail(f"config: {exc}")
    active = sum(1 for s in sources if s.active)
    return [f"{settings.sources_file}: {len(sources)} sources ({active} active)",
            f"{settings.watchlist_file}: {len(watchlist.entities)} entities",
            f"{settings.alerts_file}: {len(alerts)} alerts "
            f"({sum(1 for a in alerts if a.active)} active)"]


def _prepare_flow(*, parses: bool = True, many: bool = False) -> None:
    """Before a flow command's flow: the config checked, the Prefect API chosen, the
    database migrated; with ``parses`` (the flow extracts pages) a parse worker started
    first, so its start runs alongside the rest (hubwatch.text.worker), and with ``many``
    (the flow parses many pages at once, as import-warc does) every worker.

    Without ``PREFECT_API_URL`` the managed Prefect server (hubwatch.flows.server) is
    started if none runs, or reused, and this process's client pointed at it; a server
    that has to start does so while the database is prepared, and is waited for last.
    With ``HUBWATCH_PREFECT_SERVER=temporary`` Prefect's temporary server is started by
    the flow run instead (:func:`_run_flow`).
    """
    from hubwatch.flows.lifetime import import_prefect_in_background
    from hubwatch.flows.server import ServerError, connect_client

    pause_collector()  # resumed by _run_flow once Prefect and the flows are imported
    if parses:
        _prestart_parser(many)
    _check_config()
    try:
        managed = connect_client(wait=False)
    except ServerError as exc:
        _fail(f"Prefect server: {exc}")
    importing = import_prefect_in_background()  # while the database is prepared
    _prepare_db()
    importing.join()
    if managed is not None:
        server, state = managed
        try:
            server.wait_ready(state)
        except ServerError as exc:
            _fail(f"Prefect server: {exc}")


def _prestart_parser(every: bool) -> None:
    from hubwatch.config.settings import get_settings
    from hubwatch.text.worker import ParseLimits, shared_pool

    limits = ParseLimits.from_settings(get_settings().parse)
    shared_pool(limits).prestart(limits.workers if every else 1)


def _run_flow(flow, **params) -> dict:
    """Run a flow in this process with a progress bar; print the summary table."""
    from hubwatch.flows import orchestration
    from hubwatch.flows.lifetime import command_flow_settings, start_temporary_server

    start_temporary_server()  # only without a server: dies with this process, SIGKILL included
    resume_collector()

    with Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
                  _CountColumn(), TimeElapsedColumn(), console=console,
                  transient=False) as progress:
        task = progress.add_task(flow.name, total=None)  # unknown until discovery says

        def hook(kind: str, n: int) -> None:
            if kind == "total":
                progress.update(task, total=(progress.tasks[0].total or 0) + n)
            else:
                progress.advance(task, n)

        orchestration.progress_hook = hook
        try:
            with command_flow_settings():
                result = flow(**params)
        finally:
            orchestration.progress_hook = None
    _summary_table(flow.name, result)
    return result


class _CountColumn(ProgressColumn):
    """``done/total`` once the total is known, else ``done`` alone (never ``0/?``); ``none
    due`` when discovery found nothing to fetch (not a bare ``0/0``)."""

    def render(self, task) -> Text:
        done = int(task.completed)
        if task.total is None:
            return Text(str(done))
        return Text("none due" if task.total == 0 and done == 0 else f"{done}/{int(task.total)}")


def _summary_table(name: str, counts: dict) -> None:
    table = Table(title=_cell(f"hubwatch {name}: run {counts.get('run_id', '?')}"))
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in counts.items():
        if key == "candidates":  # listed line by line (dry run), not squeezed in a cell
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in sorted(value.items())) or "-"
        table.add_row(_cell(key.replace("_", " ")), _cell(value))
    out.print(table)


# -- the jobs --------------------------------------------------------------------------

@app.command()
def run(max_pages: Annotated[Optional[int], typer.Option(help="Pages per source at most.")] = None):
    """Run the main job now: crawl every active source (the `nightly` flow)."""
    _prepare_flow()
    from hubwatch.flows.orchestration import nightly

    _run_flow(nightly, max_pages=max_pages)


@app.command()
def ingest(
    source: Annotated[Optional[list[str]], typer.Option("--source", "-s", help="Source slug (repeatable).")] = None,
    url: Annotated[Optional[list[str]], typer.Option("--url", "-u", help="Page URL (repeatable).")] = None,
    max_pages: Annotated[Optional[int], typer.Option(help="Pages per source at most.")] = None,
    since: Annotated[Optional[dt.datetime], typer.Option(formats=["%Y-%m-%d"], help="Skip items dated before (Asia/Shanghai).")] = None,
    dry_run: Annotated[bool, typer.Option(help="Discover only; fetch and store no page; print "
                                          "each candidate URL, a tab, and the endpoint that found it.")] = False,
):
    """Crawl by hand: named sources and/or exactly the given URLs (the `ingest` flow)."""
    _prepare_flow()
    from hubwatch.flows.orchestration import ingest as ingest_flow

    result = _run_flow(ingest_flow, sources=source, urls=url, max_pages=max_pages,
                       since=since.date() if since else None, dry_run=dry_run)
    for cand in result.get("candidates", []):  # one line each: URL, tab, what found it
        sys.stdout.write(f"{cand['url']}\t{cand['found_by']}\n")


@app.command("import-warc")
def import_warc(files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)]):
    """Backfill from WARC files: each archived response is a fetch at its archive date."""
    _prepare_flow(many=True)
    from hubwatch.flows.orchestration import import_warc as warc_flow

    _run_flow(warc_flow, paths=[str(f.resolve()) for f in files])


@app.command()
def reprocess(
    extract: Annotated[bool, typer.Option("--extract", help="Re-extract from stored raw bodies first.")] = False,
    since: Annotated[Optional[dt.datetime], typer.Option(formats=["%Y-%m-%d"], help="Only versions captured since (Asia/Shanghai).")] = None,
):
    """Re-match stored versions after a watch-list change (and re-extract with --extract)."""
    _prepare_flow(parses=extract)
    from hubwatch.flows.orchestration import reprocess as reprocess_flow

    _run_flow(reprocess_flow, extract=extract, since=since.date() if since else None)


@app.command("check-config")
def check_config():
    """Validate the sources, watch-list and alerts files (HUBWATCH_SOURCES_FILE,
    HUBWATCH_WATCHLIST_FILE, HUBWATCH_ALERTS_FILE; default: the package's config/data/);
    print file:line: key on error."""
    for line in _check_config():
        out.print(line, markup=False, highlight=False)
    out.print("config OK")


# -- debugging one page ----------------------------------------------------------------

@app.command()
def extract(
    targets: Annotated[list[str], typer.Argument(help="Files or http(s) URLs.")],
    url: Annotated[Optional[str], typer.Option(help="Original URL of a single file.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table or jsonl.")] = "table",
    boilerplate: Annotated[bool, typer.Option(help="Also list hub hits in boilerplate.")] = False,
    fail_on_error: Annotated[bool, typer.Option(
        "--fail-on-error", help="Exit 1 when any target's outcome is not ok.")] = False,
):
    """Extract pages without storing anything: one line (jsonl) or table per page.

    A path that does not exist is a usage error: the other targets are printed first,
    then its message, exit status 2.
    """
    if format not in ("table", "jsonl"):
        _fail("--format must be table or jsonl")
    if url and len(targets) != 1:
        _fail("--url goes with a single file")
    from hubwatch.cli.inspect import inspect_target

    missing, failed = [], 0
    for target in targets:
        if not target.startswith(("http://", "https://")) and not Path(target).exists():
            missing.append(target)
            continue
        record = inspect_target(target, original_url=url, with_boilerplate=boilerplate)
        failed += record["outcome"] != "ok"
        if format == "jsonl":
            if record.get("error"):  # one plain line per failed page for the human
                sys.stderr.write(f"{target}: {record['outcome']}: {record['error']}\n")
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:  # the table shows outcome and error: no second copy on stderr
            _page_table(record)
    if missing:
        _fail("; ".join(f"no such file: {m}" for m in missing))
    if fail_on_error and failed:
        raise typer.Exit(1)


def _page_table(record: dict) -> None:
    table = Table(title=_cell(record.get("file") or record.get("url")), show_header=False)
    for key in ("url", "outcome", "error", "title", "published_at", "published_precision",
                "author", "language", "canonical_url"):
        table.add_row(key, _cell(record.get(key)))
    text = record.get("text") or ""
    table.add_row("text", _cell((text[:400] + " ...") if len(text) > 400 else text))
    mentions = record.get("mentions") or []
    table.add_row("mentions", _cell("\n".join(
        f"{m['entity']} {m['zone']}[{m['start']}:{m['end']}] {m['surface']}" for m in mentions) or "-"))
    if record.get("unanchored"):  # ambiguous names left out, and why
        table.add_row("unanchored", _cell("\n".join(
            f"{u['entity']} {u['zone']}[{u['start']}:{u['end']}] {u['surface']}: {u['reason']}"
            for u in record["unanchored"])))
    table.add_row("pager_links", _cell("\n".join(record.get("pager_links") or []) or "-"))
    if "boilerplate_mentions" in record:
        table.add_row("boilerplate", _cell("\n".join(
            f"{m['entity']} {m['surface']}" for m in record["boilerplate_mentions"]) or "-"))
    out.print(table)


# -- operations --------------------------------------------------------------------------

@app.command()
def serve():
    """Serve the deployments of prefect.yaml from this process (schedules stay active)."""
    _prepare_flow(parses=False)  # flow runs parse in child processes of their own
    from hubwatch.flows.deployments import serve_all
    from hubwatch.flows.lifetime import start_temporary_server

    start_temporary_server()
    resume_collector()  # paused by _prepare_flow; serve runs for long
    serve_all()


@app.command()
def status(limit: Annotated[int, typer.Option(help="Recent runs shown.")] = 10):
    """Recent crawl runs and per-source health."""
    from hubwatch.cli.inspect import status_tables

    _prepare_db()
    for item in status_tables(limit, width=min(out.width, 80)):
        # Cause lines are cut to the width already: never wrapped or re-flowed by rich.
        # (and never read as rich markup: a message may hold "[...]").
        if isinstance(item, str):
            out.print(item, markup=False, highlight=False, soft_wrap=True)
        else:
            out.print(item, width=min(out.width, 80))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def sql(
    ctx: typer.Context,
    analyst: Annotated[bool, typer.Option("--analyst", help="As an analyst login: read-only, statement timeout.")] = False,
    tz: Annotated[str, typer.Option("--tz", help="Session time zone (IANA name): times print "
                                    "in it and ::date casts cut days in it.")] = "Asia/Shanghai",
):
    """Open psql on the hubwatch database; every other option goes to psql as written
    (`hubwatch sql -At -c "SELECT ..."`). The session time zone is --tz (default
    Asia/Shanghai, the guide's days), said on stderr.

    Default: as the application's role (owner of the schema). ``--analyst``: as the analyst
    login (embedded: hubwatch's own; with DATABASE_URL: HUBWATCH_ANALYST_DATABASE_URL), every
    transaction read-only, statements ended at HUBWATCH_ANALYST_STATEMENT_TIMEOUT.
    """
    from sqlalchemy.engine import make_url

    from hubwatch.config.settings import get_settings
    from hubwatch.models.embedded import bin_dir

    _check_zone(tz)
    # libpq sends PGTZ as the session's TimeZone at connect: psql and -c queries alike.
    env = dict(os.environ, PGTZ=tz)
    if analyst:
        from hubwatch.models.db import AnalystConfigError, analyst_url
        from hubwatch.models.embedded import EmbeddedError

        if get_settings().database_url is None:
            _prepare_db()  # embedded: hubwatch keeps the schema current
        try:
            url = make_url(analyst_url())
        except (AnalystConfigError, EmbeddedError) as exc:
            _fail(str(exc))
        ms = int(get_settings().database.analyst_statement_timeout * 1000)
        # Set at connection start, like the embedded role's own defaults; psql's
        # SET could change them, the role's limits (embedded) and rights stay.
        env["PGOPTIONS"] = (f"-c default_transaction_read_only=on -c statement_timeout={ms} "
                            f"-c idle_in_transaction_session_timeout={ms}")
    else:
        url = make_url(_prepare_db())
    env["PGPASSWORD"] = url.password or ""  # given to psql by environment, never on argv
    env.setdefault("PGAPPNAME", "hubwatch sql" + (" --analyst" if analyst else ""))
    args = [_psql(bin_dir()), "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres", "-d", url.database or "postgres"]
    if ctx.args:  # scripted use: no ~/.psqlrc changing the output
        args.append("-X")
    console.print(f"session time zone: {tz} (--tz to change)")
    raise typer.Exit(subprocess.call(args + list(ctx.args), env=env))


def _check_zone(tz: str) -> None:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(tz)
    except (ValueError, KeyError):
        _fail(f"--tz: unknown time zone {tz!r} (an IANA name such as Asia/Shanghai or UTC)")


def _psql(embedded_bin: Path) -> str:
    import shutil

    candidate = embedded_bin / "psql"
    return str(candidate) if candidate.exists() else (shutil.which("psql") or "psql")


@db_app.command("start")
def db_start():
    """Start the embedded server and keep it running until `hubwatch db stop`."""
    from hubwatch.config.settings import get_settings
    from hubwatch.models.embedded import EmbeddedError, EmbeddedPostgres

    if get_settings().database_url is not None:
        _fail("DATABASE_URL is set: there is no embedded server to start")
    server = EmbeddedPostgres(get_settings().data_dir)
    try:
        info = server.acquire(keep=True)
    except EmbeddedError as exc:
        _fail(f"embedded PostgreSQL: {exc}")
    upgrade_locked(info.url())
    out.print(f"embedded PostgreSQL running: pid {info.pid}, port {info.port}, "
              f"data {server.pgdata} (secrets in {server.secrets_dir})")


@db_app.command("stop")
def db_stop():
    """Stop the embedded server running on HUBWATCH_DATA_DIR (ends other processes' sessions)
    and the managed Prefect server of that folder."""
    from hubwatch.config.settings import get_settings
    from hubwatch.models.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(get_settings().data_dir)
    # Seen before the Prefect server goes: its lease may be the last one, and then the
    # supervisor starts stopping PostgreSQL itself, racing the stop below.
    seen = embedded.running()
    _server_stop()
    if embedded.stop(seen=seen):
        out.print("stopped")
    elif seen is not None:
        _fail(f"embedded PostgreSQL (pid {seen.pid}) is still shutting down; see {embedded.log_file}", code=1)
    else:
        out.print("no embedded server was running")


@db_app.command("status")
def db_status():
    """Which database commands use, and whether the embedded server runs."""
    from hubwatch.config.settings import get_settings
    from hubwatch.models.embedded import EmbeddedPostgres

    settings = get_settings()
    if settings.database_url is not None:
        out.print(f"DATABASE_URL: {settings.safe_database_url()}", soft_wrap=True)
        out.print("HUBWATCH_ANALYST_DATABASE_URL: "
                  + (settings.safe_analyst_database_url() or "not set (analyst commands refuse)"),
                  soft_wrap=True)
        return
    info = EmbeddedPostgres(settings.data_dir).running()
    out.print(f"embedded PostgreSQL in {settings.data_dir}: "
              + (f"running, pid {info.pid}, port {info.port}" if info else "not running"), soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head"):
    """Apply Alembic migrations up to REVISION (default head)."""
    from hubwatch.models.db import database_url, upgrade
    from hubwatch.models.embedded import EmbeddedError

    try:
        upgrade(database_url(), revision)
    except EmbeddedError as exc:
        _fail(f"embedded PostgreSQL: {exc}")
    out.print(f"database at {revision}")


# -- the managed Prefect server -----------------------------------------------------------

@server_app.command("start")
def server_start():
    """Start the managed Prefect server of HUBWATCH_DATA_DIR (or find it running) and wait
    until it answers; it runs until `hubwatch server stop` or `hubwatch db stop`."""
    from hubwatch.flows.server import ServerError, managed_server

    server = managed_server()
    try:
        state = server.acquire()
    except ServerError as exc:
        _fail(f"Prefect server: {exc}")
    out.print(f"Prefect server running: {state.api_url}, pid {state.pid} "
              f"(database {server.database}, log {server.log_file}, "
              f"secret in {server.state_file})", soft_wrap=True)


@server_app.command("stop")
def server_stop():
    """Stop the managed Prefect server of HUBWATCH_DATA_DIR (SIGTERM, then SIGKILL)."""
    _server_stop()


def _server_stop() -> None:
    from hubwatch.flows.server import ServerError, managed_server

    try:
        stopped = managed_server().stop()
    except ServerError as exc:
        _fail(f"Prefect server: {exc}")
    out.print("Prefect server stopped" if stopped else "no Prefect server was running")


@server_app.command("status")
def server_status():
    """Whether the managed Prefect server runs: its URL, pid and uptime; and which server
    flow commands use."""
    import time

    from hubwatch.config.settings import get_settings
    from hubwatch.flows.server import answers, api_url_configured, managed_server

    server = managed_server()
    state = server.recorded()
    if state is None:
        out.print(f"Prefect server of {get_settings().data_dir}: not running")
    else:
        what = "running" if answers(state) else "starting (not answering yet)"
        uptime = _duration(time.time() - state.started_at)
        out.print(f"Prefect server of {get_settings().data_dir}: {what}, {state.api_url}, "
                  f"pid {state.pid}, up {uptime} (secret in {server.state_file})", soft_wrap=True)
    if api_url_configured():
        out.print("flow commands use PREFECT_API_URL (set in the environment or the Prefect "
                  "profile), not this server")
    elif get_settings().prefect.mode == "temporary":
        out.print("flow commands use Prefect's temporary server (HUBWATCH_PREFECT_SERVER=temporary)")


def _duration(seconds: float) -> str:
    """``1h 02m 03s`` / ``2m 03s`` / ``3s``."""
    s = int(max(seconds, 0))
    h, m = divmod(s // 60, 60)
    return f"{h}h {m:02d}m {s % 60:02d}s" if h else f"{m}m {s % 60:02d}s" if m else f"{s}s"


@db_app.command("refresh-analytics")
def db_refresh_analytics(
    full: Annotated[bool, typer.Option("--full", help="Recompute every summary (and every missing diff) from the tables (repair).")] = False,
):
    """Bring the analyst views up to date now (flow runs do it when they end), the
    sentence diffs of version_diffs included; prints how many documents were recomputed."""
    _prepare_db()
    from hubwatch.models.analytics import refresh_analytics
    from hubwatch.models.db import session_factory
    from hubwatch.pipeline.diffs import update_version_diffs

    with session_factory().begin() as session:
        documents = refresh_analytics(session, full=full,
                                      on_claimed=lambda ids: update_version_diffs(session, ids))
    out.print(f"analytics current: {documents} document(s) recomputed")


def _register_extras() -> None:
    try:
        from hubwatch.cli.analyst import register
    except ImportError:
        return
    register(app)
    from hubwatch.cli.redline import register as register_diff

    register_diff(app)


_register_extras()


if __name__ == "__main__":  # pragma: no cover
    app()
