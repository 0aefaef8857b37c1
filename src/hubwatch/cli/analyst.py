"""`hubwatch export` and `hubwatch report`: the analyst's views out to files.

``register(app)`` adds both commands to the main Typer app (``hubwatch.cli.main``). The
weekly summary itself is ``hubwatch.models.analytics.weekly_summary_markdown`` (the nightly
flow attaches the same text as a Prefect artifact). Weeks start on Monday in Asia/Shanghai
(docs/analyst.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import text
from sqlalchemy.orm import Session

from hubwatch.models.analytics import ANALYST_VIEWS, weekly_counts, weekly_summary_markdown

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUERY = re.compile(r"^\s*(select|with)\b", re.I)
BATCH = 10_000


class Format(StrEnum):
    csv = "csv"
    parquet = "parquet"


def export_sql(view_or_query: str) -> str:
    """The SELECT to run for a view name or a query.

    Raises:
        ValueError: neither a known view name nor a single SELECT/WITH statement.
    """
    candidate = view_or_query.strip().rstrip(";").strip()
    if _NAME.match(candidate):
        if candidate not in ANALYST_VIEWS:
            raise ValueError(f"unknown view {candidate!r}; views: {', '.join(ANALYST_VIEWS)}")
        return f"SELECT * FROM {candidate}"
    if not _QUERY.match(candidate) or ";" in candidate:
        raise ValueError("give a view name or one SELECT (or WITH ... SELECT) query")
    return candidate


def export(session: Session, view_or_query: str, fmt: Format, out: Path) -> int:
    """Write the rows of a view or query to ``out``; returns the number of rows.

    Runs in a READ ONLY transaction (a query that writes fails); commands pass the
    analyst's session (models.db.analyst_transaction), which also sets the statement
    timeout. CSV: UTF-8, header row,
    times as ISO 8601 with offset, NULL as empty. Parquet: column types kept (pyarrow).
    """
    session.execute(text("SET TRANSACTION READ ONLY"))
    result = session.execute(text(export_sql(view_or_query)).execution_options(yield_per=BATCH))
    columns = list(result.keys())
    if fmt is Format.csv:
        return _write_csv(result, columns, out)
    return _write_parquet(result, columns, out)


def _csv_value(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return "" if value is None else value


def _write_csv(result, columns: list[str], out: Path) -> int:
    count = 0
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in result:
            writer.writerow([_csv_value(v) for v in row])
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


def write_report(session: Session, weeks: int, out: Path) -> list[Path]:
    """Write ``trend-ENTITY.png`` per entity and ``summary.md`` into ``out``; returns paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for entity, series in weekly_counts(session, weeks).items():
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.plot([w for w, _ in series], [n for _, n in series], marker="o")
        ax.set_title(f"{entity}: documents per week")
        ax.set_ylabel("documents")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # documents come whole
        fig.autofmt_xdate()
        path = out / f"trend-{entity}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    summary = out / "summary.md"
    summary.write_text(weekly_summary_markdown(session, weeks), encoding="utf-8")
    return [*written, summary]


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
) -> None:
    """Export a view or a SELECT query to CSV or Parquet (as an analyst: read-only
    transaction, statement timeout)."""
    from sqlalchemy.exc import DBAPIError

    try:
        export_sql(view_or_query)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="VIEW_OR_QUERY") from exc
    try:
        with _analyst_session() as session:
            count = export(session, view_or_query, fmt, out)
    except DBAPIError as exc:
        out.unlink(missing_ok=True)  # no half-written file left behind
        _fail(explain_db_error(exc))
    typer.echo(f"{count} rows -> {out}")


def report_command(
    weeks: Annotated[int, typer.Option("--weeks", min=1, help="Weeks to chart.")] = 12,
    out: Annotated[Path, typer.Option("--out", help="Folder to write.")] = Path("report"),
) -> None:
    """Weekly mention-trend charts (PNG) per entity and summary.md (as an analyst)."""
    from sqlalchemy.exc import DBAPIError

    try:
        with _analyst_session() as session:
            paths = write_report(session, weeks, out)
    except DBAPIError as exc:
        _fail(explain_db_error(exc))
    typer.echo(f"{len(paths)} files -> {out}")
