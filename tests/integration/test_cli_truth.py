"""The command line says exactly what happened (issue 14, point 4): messages printed as
written, psql options passed through in the guide's time zone, exports in a stated zone
and order, dry runs that list what they found, extract outcomes that scripts can trust,
status within 80 columns, progress totals."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from support.analyst_seed import seed
from typer.testing import CliRunner

from hubwatch.cli.main import app
from hubwatch.config.settings import get_settings
from hubwatch.models.analytics import refresh_analytics

REPO = Path(__file__).resolve().parents[2]
PAGE = ("<html><head><title>Bay [Area] notes</title></head><body><article><p>"
        + "The Greater Bay Area [GBA] builds an innovation hub with partners. " * 6
        + "</p></article></body></html>")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


# -- messages ---------------------------------------------------------------------------

def test_config_error_keeps_square_brackets(runner, tmp_path, monkeypatch):
    bad = tmp_path / "watchlist.yaml"
    bad.write_text("entities:\n  - key: Bad Key\n    name: x\n", encoding="utf-8")
    monkeypatch.setenv("HUBWATCH_WATCHLIST_FILE", str(bad))
    get_settings.cache_clear()  # read the variable just set (conftest clears after)
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 2
    assert result.stderr == (f"error: config: {bad}:2: entities.0.key: String should match "
                             "pattern '^[a-z][a-z0-9_]{0,31}$'\n")


def test_extract_table_shows_titles_as_written(runner, tmp_path):
    page = tmp_path / "a.html"
    page.write_text(PAGE, encoding="utf-8")
    result = runner.invoke(app, ["extract", str(page)])
    assert result.exit_code == 0, result.output
    title_row = next(line for line in result.stdout.splitlines() if "│ title " in line)
    assert title_row.split("│")[2].strip() == "Bay [Area] notes"
    assert "The Greater Bay Area [GBA] builds" in result.stdout


# -- extract ----------------------------------------------------------------------------

def test_extract_empty_file_is_no_text(runner, tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["extract", str(empty), "--format", "jsonl"])
    assert result.exit_code == 0
    (record,) = _jsonl(result.stdout)
    assert (record["outcome"], record["error"]) == ("no_text", "empty body (0 bytes)")
    assert result.stderr == f"{empty}: no_text: empty body (0 bytes)\n"


def test_extract_prints_each_error_once(runner, tmp_path):
    binary = tmp_path / "blob.html"
    binary.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    result = runner.invoke(app, ["extract", str(binary), "--format", "jsonl"])
    (record,) = _jsonl(result.stdout)
    outcome = record["outcome"]
    assert outcome in ("binary", "decode_error") and record["error"]
    assert not record["error"].startswith(outcome)  # the outcome once, in its own field
    assert result.stderr == f"{binary}: {outcome}: {record['error']}\n"
    table = runner.invoke(app, ["extract", str(binary)])
    assert table.stderr == ""  # the table holds outcome and error: no second copy
    assert table.stdout.count(record["error"][:24]) == 1  # the cell may wrap the rest
    assert f"{outcome}: {outcome}" not in table.stdout + result.stderr


def test_extract_missing_path_is_a_usage_error_after_the_others(runner, tmp_path):
    good, missing, empty = tmp_path / "a.html", tmp_path / "missing.html", tmp_path / "e.html"
    good.write_text(PAGE, encoding="utf-8")
    empty.write_bytes(b"  \n")
    result = runner.invoke(app, ["extract", str(good), str(missing), str(empty),
                                 "--format", "jsonl"])
    assert result.exit_code == 2
    assert [(r["file"], r["outcome"]) for r in _jsonl(result.stdout)] == [
        (str(good), "ok"), (str(empty), "no_text")]
    assert result.stderr.splitlines() == [f"{empty}: no_text: empty body (3 bytes)",
                                          f"error: no such file: {missing}"]


def test_extract_fail_on_error(runner, tmp_path):
    good, empty = tmp_path / "a.html", tmp_path / "e.html"
    good.write_text(PAGE, encoding="utf-8")
    empty.write_bytes(b"")
    both = ["extract", str(good), str(empty), "--format", "jsonl"]
    assert runner.invoke(app, both).exit_code == 0
    assert runner.invoke(app, [*both, "--fail-on-error"]).exit_code == 1
    assert runner.invoke(app, ["extract", str(good), "--fail-on-error"]).exit_code == 0


# -- sql, export, status (database) -------------------------------------------------------

@pytest.fixture
def committed(clean_db):
    """The analyst seed committed, D3 dated by day (midnight in Beijing), refreshed."""
    engine = create_engine(clean_db)
    with Session(engine) as session, session.begin():
        corpus = seed(session)
        session.execute(text("UPDATE document_version SET published_at = "
                             "'2026-10-15 00:00:00+08', published_precision = 'day' "
                             "WHERE document_id = 3"))
        session.execute(text("INSERT INTO crawl_run (id, flow_name, started_at, ended_at, run_status,"
                             " counts) VALUES (99, 'nightly', '2026-11-08 01:00+00', "
                             "'2026-11-08 01:03+00', 'completed', "
                             "'{\"pages_fetched\": 12, \"new_versions\": 3, \"errors\": 1}')"))
        refresh_analytics(session)
    yield corpus
    with Session(engine) as session, session.begin():
        session.execute(text("TRUNCATE source, entity RESTART IDENTITY CASCADE"))
        refresh_analytics(session, concurrently=False)
    engine.dispose()


def _hubwatch(*args: str, url: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "hubwatch", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.db
def test_sql_passes_psql_options_in_shanghai_time(db_env):
    shown = _hubwatch("sql", "-At", "-c", "SHOW TimeZone", url=db_env)
    assert (shown.returncode, shown.stdout) == (0, "Asia/Shanghai\n"), shown.stderr
    assert "session time zone: Asia/Shanghai (--tz to change)" in shown.stderr
    moment = "SELECT '2026-11-02 00:00+08'::timestamptz, ('2026-11-02 00:00+08'::timestamptz)::date"
    assert _hubwatch("sql", "-At", "-c", moment, url=db_env).stdout == \
        "2026-11-02 00:00:00+08|2026-11-02\n"
    assert _hubwatch("sql", "--tz", "UTC", "-At", "-c", moment, url=db_env).stdout == \
        "2026-11-01 16:00:00+00|2026-11-01\n"
    bad = _hubwatch("sql", "--tz", "Mars/Olympus", "-c", "SELECT 1", url=db_env)
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[-1] == ("error: --tz: unknown time zone 'Mars/Olympus' "
                                           "(an IANA name such as Asia/Shanghai or UTC)")


@pytest.mark.db
def test_export_times_in_zone_ordered_excel_bom(runner, committed, tmp_path):
    out = tmp_path / "docs.csv"
    result = runner.invoke(app, ["export", "current_documents", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{len(committed.docs)} rows -> {out}\n"
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8").splitlines()))
    assert [r["document_id"] for r in rows] == [  # the documented order: document_id
        str(d.id) for d in sorted(committed.docs.values(), key=lambda d: d.id)]
    assert rows[2]["published_at"] == "2026-10-15T00:00:00+08:00"  # its day, not the 14th
    assert rows[0]["first_seen_at"] == "2026-10-20T10:00:00+08:00"
    utc = tmp_path / "utc.csv"
    assert runner.invoke(app, ["export", "current_documents", "--out", str(utc),
                               "--tz", "UTC"]).exit_code == 0
    assert list(csv.DictReader(utc.open(encoding="utf-8")))[2]["published_at"] == \
        "2026-10-14T16:00:00+00:00"
    excel = tmp_path / "excel.csv"
    assert runner.invoke(app, ["export", "current_documents", "--out", str(excel),
                               "--excel"]).exit_code == 0
    data = excel.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data[3:] == raw
    assert "十五五规划与三大区域" in data.decode("utf-8-sig")


def test_every_view_has_a_documented_export_order():
    from hubwatch.cli.analyst import EXPORT_ORDER
    from hubwatch.models.analytics import ANALYST_VIEWS

    guide = (REPO / "docs" / "analyst.md").read_text(encoding="utf-8")
    assert set(EXPORT_ORDER) == set(ANALYST_VIEWS)
    for view in ANALYST_VIEWS:
        assert f"| `{view}` |" in guide or f"`{view}`, " in guide or f", `{view}` |" in guide


@pytest.mark.db
def test_status_fits_80_columns(runner, committed):
    from hubwatch.models.db import get_engine

    with get_engine().begin() as conn:  # one inactive source: marked, and the table still fits
        conn.execute(text("UPDATE source SET active = false WHERE slug = 'en-policy'"))
    try:
        result = runner.invoke(app, ["status"], env={"COLUMNS": "80"})
    finally:
        with get_engine().begin() as conn:
            conn.execute(text("UPDATE source SET active = true WHERE slug = 'en-policy'"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout
    shown = [line.rstrip() for line in lines]
    for expected in (
            "run  flow     started (UTC)     min  status     fetched  new  errors",
            " 99  nightly  2026-11-08 01:00  3.0  completed       12    3       1",
            "                                 failed                        no    no",
            "source         last ok (UTC)       runs  pages  new  failed  date  text",
            "en-policy*     never                  2      1    0       1     0     0",
            "failed runs: latest runs in a row with no success; others: latest run",
            "*: inactive source (active: false), not crawled by the nightly run"):
        assert expected in shown


# -- ingest --dry-run (a local site, a real flow run) --------------------------------------

@pytest.mark.db
@pytest.mark.usefixtures("prefect_harness")
def test_ingest_dry_run_lists_candidates_with_their_endpoint(runner, clean_db, tmp_path,
                                                             monkeypatch):
    from support.sitegen import SiteServer, write_sources

    monkeypatch.setenv("HUBWATCH_SOURCES_FILE", str(tmp_path / "sources.yaml"))
    monkeypatch.setenv("HUBWATCH_HOST_DELAY_SECONDS", "0")
    get_settings.cache_clear()
    try:
        with SiteServer(pages=5, feed_items=3) as site:
            write_sources(tmp_path / "sources.yaml", site, discovery=("feed", "sitemap"))
            result = runner.invoke(app, ["ingest", "--source", "testsite", "--dry-run"])
            feed, sitemap = site.url("/feed.xml"), site.url("/sitemap.xml")
            urls = site.article_urls()
            assert not site.requested("/news/2")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    listed = [line for line in result.stdout.splitlines() if "\t" in line]
    by_feed = [f"{u}\tfeed {feed}" for u in urls if f"{u}\tfeed {feed}" in listed]
    assert len(by_feed) == 3  # the feed's newest three, named by the feed
    assert sorted(listed) == sorted(by_feed + [f"{u}\tsitemap {sitemap}" for u in urls
                                               if f"{u}\tfeed {feed}" not in listed])
    assert len(listed) == len(urls) == 5


@pytest.mark.db
@pytest.mark.usefixtures("prefect_harness")
def test_ingest_dry_run_lists_given_urls_unfetched(runner, clean_db, tmp_path, monkeypatch):
    """``-u URL --dry-run``: each given URL once, named as given, and no request for it."""
    from support.sitegen import SiteServer, write_sources

    monkeypatch.setenv("HUBWATCH_SOURCES_FILE", str(tmp_path / "sources.yaml"))
    monkeypatch.setenv("HUBWATCH_HOST_DELAY_SECONDS", "0")
    get_settings.cache_clear()
    try:
        with SiteServer(pages=3, feed_items=3) as site:
            write_sources(tmp_path / "sources.yaml", site, discovery=("feed",))
            first, second = site.article_urls()[:2]
            result = runner.invoke(app, ["ingest", "-u", first, "-u", second, "-u", first, "--dry-run"])
            assert not [r for r in site.requests if r.path in {a.path for a in site.articles}]
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    listed = [line for line in result.stdout.splitlines() if "\t" in line]
    assert listed == [f"{first}\tgiven (-u)", f"{second}\tgiven (-u)"]


# -- commands without a flow never import Prefect ------------------------------------------

_PROBE = """
import sys
from typer.testing import CliRunner
from hubwatch.cli.main import app
result = CliRunner().invoke(app, sys.argv[1:])
print(result.exit_code, "prefect" in sys.modules)
"""


@pytest.mark.db
@pytest.mark.parametrize("args", [["diff", "1"], ["export", "current_documents", "--out", "{tmp}/x.csv"],
                                  ["status"], ["report", "--weeks", "1", "--out", "{tmp}/r"],
                                  ["extract", "{tmp}/none.html"]])
def test_commands_without_a_flow_never_import_prefect(db_env, tmp_path, args):
    argv = [a.format(tmp=tmp_path) for a in args]
    env = dict(os.environ, DATABASE_URL=db_env)
    probe = subprocess.run([sys.executable, "-c", _PROBE, *argv], env=env, cwd=REPO,
                           capture_output=True, text=True, timeout=120)
    code, imported = probe.stdout.split()
    assert imported == "False", (args, probe.stderr[-1000:])
    assert code in ("0", "2")
