"""`hubwatch export` and `hubwatch report` on the seeded corpus (tests/analyst_seed.py),
through a Typer app of their own with the commands registered as the main CLI does."""

from __future__ import annotations

import csv

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from support.analyst_seed import SHANGHAI, seed
from typer.testing import CliRunner

from hubwatch.cli.analyst import export_sql, register
from hubwatch.models.analytics import refresh_analytics, weekly_summary_markdown
from hubwatch.pipeline.diffs import update_version_diffs

pytestmark = pytest.mark.db


@pytest.fixture
def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("version")(lambda: None)  # a second command keeps Typer in group mode
    register(cli)
    return cli


@pytest.fixture
def committed(clean_db):
    """The seeded corpus committed (the CLI opens its own connection), refreshed."""
    engine = create_engine(clean_db)
    with Session(engine) as session, session.begin():
        corpus = seed(session)
        update_version_diffs(session)
        refresh_analytics(session)
    yield corpus
    with Session(engine) as session, session.begin():  # clean_db truncates the tables
        session.execute(text("TRUNCATE source, entity RESTART IDENTITY CASCADE"))
        refresh_analytics(session, concurrently=False)
    engine.dispose()


def test_export_view_csv(app, committed, tmp_path):
    out = tmp_path / "docs.csv"
    result = CliRunner().invoke(app, ["export", "current_documents", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert sorted(r["url"] for r in rows) == sorted(d.url for d in committed.docs.values())
    d4 = next(r for r in rows if r["url"] == committed.docs["D4"].url)
    assert d4["gone_at"].startswith("2026-11-20T") and d4["published_at"] == ""
    assert f"{len(committed.docs)} rows" in result.output


def test_export_query_parquet_keeps_types(app, committed, tmp_path):
    out = tmp_path / "co.parquet"
    query = "SELECT entity_a, entity_b, documents FROM co_mentions WHERE entity_a = 'bth'"
    result = CliRunner().invoke(app, ["export", query, "--format", "parquet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert pa.types.is_integer(table.schema.field("documents").type)
    assert pa.types.is_string(table.schema.field("entity_a").type)
    pairs = {(r["entity_a"], r["entity_b"]) for r in table.to_pylist()}
    assert pairs == {("bth", "fyp15"), ("bth", "gba"), ("bth", "yrd")}


@pytest.mark.parametrize("bad", ["document_version", "DELETE FROM mention",
                                 "SELECT 1; DROP TABLE mention", "nonsense here"])
def test_export_refuses_non_views_and_non_selects(bad):
    with pytest.raises(ValueError):
        export_sql(bad)


def test_export_runs_read_only(app, committed, tmp_path):
    # A SELECT that writes passes the SELECT/WITH check and must still be refused.
    query = "SELECT setval(pg_get_serial_sequence('source', 'id'), 99)"
    result = CliRunner().invoke(app, ["export", query, "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2  # a clean error line, no traceback
    assert "refused" in result.output


def test_report_writes_briefing_charts_and_summary(app, committed, tmp_path):
    until = committed.now.astimezone(SHANGHAI).date()
    result = CliRunner().invoke(app, ["report", "--weeks", "6", "--until", until.isoformat(),
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in tmp_path.iterdir()}
    # D4 (qianhai) and D3 (hengqin) were first seen within six weeks: gba's sub-areas show
    assert names == {"briefing.html", "summary.md", "hubs.png", "share.png", "subareas-gba.png"}
    assert all((tmp_path / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in names
               if p.endswith(".png"))
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith(f"# hubwatch briefing: 6 week(s) to {until.isoformat()}\n")
    # D1's edit two days ago added fyp15 and dropped a gba mention; its redline is quoted
    assert (f"- [Bay Area plans, updated]({committed.docs['D1'].url}): fyp15 +1 -0, gba +0 -1\n"
            "  - added: The 15th Five-Year Plan will help innovation hubs.\n"
            "  - removed: The Greater Bay Area grows.") in summary
    # en-policy's latest run failed: the cause is source_health's last failed fetch (the
    # seeded snapshot has an outcome and no message)
    assert "- en-policy: 2 failed run(s) in a row, 1 failure(s) last run: network_error\n" in summary
    page = (tmp_path / "briefing.html").read_text(encoding="utf-8")
    assert "http" not in page.split("<body>")[0]  # nothing fetched: styles and charts inline
    assert page.count("data:image/png;base64,") == 3


def test_summary_counts_this_week(db_session):
    corpus = seed(db_session)
    refresh_analytics(db_session)
    summary = weekly_summary_markdown(db_session, 2)
    rows = {line.split("|")[1].strip(): line for line in summary.splitlines()
            if line.startswith("| ") and "entity" not in line and "---" not in line}
    assert set(rows) == {"bth", "gba", "yrd", "fyp15", "xiongan", "hengqin", "qianhai"}
    # D2 (a day ago) mentions every hub and the plan; D1 and D3 are dated October.
    this_week = {e for e in ("bth", "gba", "yrd", "fyp15")
                 if corpus.docs["D2"].day >= _monday(corpus)}
    for entity in this_week:
        assert int(rows[entity].split("|")[2]) >= 1
    assert int(rows["xiongan"].split("|")[5]) == 0


def _monday(corpus):
    import datetime as dt

    from support.analyst_seed import SHANGHAI

    today = corpus.now.astimezone(SHANGHAI).date()
    return today - dt.timedelta(days=today.weekday())
