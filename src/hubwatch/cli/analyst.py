"""`hubwatch export` and `hubwatch report`: the analyst's views out to files.

``register(app)`` adds both commands to the main Typer app (``hubwatch.cli.main``). The
briefing itself is built in ``hubwatch.reports.briefing``; the older weekly summary is
``hubwatch.models.analytics.weekly_summary_markdown``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from sqlalchemy import text
from sqlalchemy.orm import Session

from hubwatch.models.analytics import ANALYST_VIEWS

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUERY = re.compile(r"^\s*(select|with)\b", re.I)
BATCH = 10_000


class Format(StrEnum):
    csv = "csv"
    parquet = "parquet"


def export_sql(view_or_query: str) -> str:
    """The SELECT to run for a view name (its rows in the order of ``EXPORT_ORDER``,
    documented in docs/analyst.md) or a query (its own ORDER BY, if any).

    Raises:
        ValueError: neither a known view name nor a single SELECT/WITH statement.
    """
    candidate = view_or_query.strip().rstrip(";").strip()
    if _NAME.match(candidate):
        if candidate not in ANALYST_VIEWS:
            raise ValueError(f"unknown view {candidate!r}; views: {', '.join(ANALYST_VIEWS)}")
        order = EXPORT_ORDER.get(candidate, "1")  # a view added later: its first column
        return f"SELECT * FROM {candidate} ORDER BY {order}"
    if not _QUERY.match(candidate) or ";" in candidate:
        raise ValueError("give a view name or one SELECT (or WITH ... SELECT) query")
    return candidate


#: Row order of each view's export: its key, oldest first where it has a time.
EXPORT_ORDER = {
    "current_documents": "document_id",
    "current_mentions": "document_id, zone DESC, start_offset, entity",
    "entities": "hub, depth, entity",
    "document_history": "document_id, version_no",
    "version_changes": "document_id, version_no",
    "version_diffs": "document_id, changed_at, version_id",
    "source_health": "source",
    "policy_documents": "document_id",
    "attachments": "parent_document_id, document_id",
    "document_entities": "document_id, entity",
    "mention_daily": "day, entity, source, kind, language",
    "hub_daily": "day, hub, source, kind, language",
    "co_mentions": "entity_a, entity_b",
    "mention_changes": "changed_at, document_id, entity",
}
DEFAULT_TZ = "Asia/Shanghai"


def export(session: Session, view_or_query: str, fmt: Format, out: Path, *,
           tz: str = DEFAULT_TZ, excel: bool = False) -> int:
    """Write the rows of a view or query to ``out``; returns the number of rows.

    Runs in a READ ONLY transaction (a query that writes fails) whose session time zone
    is ``tz`` (an IANA name), so ``::date`` casts in a query cut days there too; commands
    pass the analyst's session (models.db.analyst_transaction), which also sets the
    statement timeout. CSV: UTF-8 (with a byte-order mark when ``excel``: spreadsheets
    then read Chinese right), header row, times as ISO 8601 with the offset of ``tz`` (a
    day-precision ``published_at`` stays on its day: ``2026-11-02T00:00:00+08:00``), NULL
    as empty. Parquet: column types kept (pyarrow), times as UTC instants.

    Raises:
        ValueError: ``tz`` is not a known time zone, or see ``export_sql``.
    """
    zone = ZoneInfo(tz)
    session.execute(text("SET TRANSACTION READ ONLY"))
    session.execute(text("SELECT set_config('TimeZone', :tz, true)"), {"tz": tz})
    result = session.execute(text(export_sql(view_or_query)).execution_options(yield_per=BATCH))
    columns = list(result.keys())
    if fmt is Format.csv:
        return _write_csv(result, columns, out, zone, excel)
    return _write_parquet(result, columns, out)


def _csv_value(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, dt.datetime):
        return (value.astimezone(zone) if value.tzinfo else value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


def _write_csv(result, columns: list[str], out: Path, zone: ZoneInfo, excel: bool) -> int:
    count = 0
    with out.open("w", encoding="utf-8-sig" if excel else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in result:
            writer.writerow([_csv_value(v, zone) for v in row])
            count += 1
    return count


def _write_parquet(result, columns: list[str], out: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [tuple(r) for r in result]
    # Columns become arrays one at a time: pyarrow infers each type from all its values.
    arrays = [pa.array([r[i] for r in rows]) for i in range(len(columns))]
    pq.write_table(pa.Table.from_arrays(arrays, names=columns), out)
    return len(rows)




def register(app: typer.Typer) -> None:
    """Add the ``export`` and ``report`` commands to ``app``."""
    app.command("export")(export_command)
    app.command("report")(report_command)


@contextmanager
def _analyst_session():
    """The analyst's read-only, time-limited transaction for a command, or a clean exit.

    Embedded server: the schema is migrated first (as the application's role, which owns
    it), then the analyst login connects. With DATABASE_URL: HUBWATCH_ANALYST_DATABASE_URL.
    """
    from hubwatch.config.settings import get_settings
    from hubwatch.models.db import AnalystConfigError, analyst_transaction
    from hubwatch.models.embedded import EmbeddedError

    if get_settings().database_url is None:
        from hubwatch.cli.main import _prepare_db

        _prepare_db()
    manager = analyst_transaction()
    try:
        session = manager.__enter__()
    except (AnalystConfigError, EmbeddedError) as exc:
        _fail(str(exc))
    try:
        yield session
    except BaseException:
        if not manager.__exit__(*sys.exc_info()):
            raise
    else:
        manager.__exit__(None, None, None)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def explain_db_error(exc: Exception) -> str:
    """A one-line reason for a failed analyst query: timeout, refusal or the server's text.

    ``exc`` is a SQLAlchemy DBAPIError; its ``orig`` is psycopg's error.
    """
    from hubwatch.config.settings import get_settings

    orig = getattr(exc, "orig", exc)
    state = getattr(orig, "sqlstate", None)
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if state == "57014":  # query_canceled: here only the statement timeout cancels
        seconds = get_settings().database.analyst_statement_timeout
        return (f"query stopped at the statement timeout ({seconds:g} s; "
                "HUBWATCH_ANALYST_STATEMENT_TIMEOUT): narrow it or ask for a longer limit")
    if state == "42501":  # insufficient_privilege
        return f"refused: analysts may only read the views ({first})"
    if state == "25006":  # read_only_sql_transaction
        return f"refused: analyst queries are read-only ({first})"
    return first


def export_command(
    view_or_query: Annotated[str, typer.Argument(help="A view name or one SELECT query.")],
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.csv,
    out: Annotated[Path, typer.Option("--out", help="File to write.")] = Path("export.csv"),
    tz: Annotated[str, typer.Option("--tz", help="Time zone of the times written (IANA name).")] = DEFAULT_TZ,
    excel: Annotated[bool, typer.Option("--excel", help="CSV with a UTF-8 byte-order mark, "
                                        "for spreadsheets.")] = False,
) -> None:
    """Export a view or a SELECT query to CSV or Parquet (as an analyst: read-only
    transaction, statement timeout).

    A view's rows come in the order docs/analyst.md gives; times are written in --tz
    (default Asia/Shanghai)."""
    from sqlalchemy.exc import DBAPIError

    try:
        export_sql(view_or_query)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="VIEW_OR_QUERY") from exc
    try:
        ZoneInfo(tz)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise typer.BadParameter(f"unknown time zone {tz!r}", param_hint="--tz") from exc
    if excel and fmt is not Format.csv:
        raise typer.BadParameter("--excel goes with --format csv", param_hint="--excel")
    try:
        with _analyst_session() as session:
            count = export(session, view_or_query, fmt, out, tz=tz, excel=excel)
    except DBAPIError as exc:
        out.unlink(missing_ok=True)  # no half-written file left behind
        _fail(explain_db_error(exc))
    typer.echo(f"{count} rows -> {out}")


def report_command(
    weeks: Annotated[int, typer.Option("--weeks", min=1, help="Weeks to chart.")] = 12,
    until: Annotated[Optional[dt.datetime], typer.Option(
        "--until", formats=["%Y-%m-%d"], help="Last day of the last week (Asia/Shanghai; "
        "default today).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder to write.")] = Path("report"),
) -> None:
    """The weekly briefing: briefing.html (self-contained), its PNG charts and summary.md
    (read as an analyst)."""
    from sqlalchemy.exc import DBAPIError

    from hubwatch.reports.briefing import build_briefing, today_in_shanghai, write_briefing

    try:
        with _analyst_session() as session:
            briefing = build_briefing(session, weeks, until.date() if until else today_in_shanghai())
    except DBAPIError as exc:
        _fail(explain_db_error(exc))
    paths = write_briefing(briefing, out)
    typer.echo(f"{len(paths)} files -> {out} (open {out / 'briefing.html'})")
