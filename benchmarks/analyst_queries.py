"""Time the analyst queries on a seeded database (benchmarks/seed.py), and how long the
views take to be current after an ingest.

Freshness (``--ingest N``, default 100; 0 skips it): a real import-warc run (in process,
without Prefect) of a WARC of N distinct pages built from the shared corpus as
benchmarks/throughput.py builds it, then a second run of the same N pages edited (new
versions, mentions changed). For each run: the documents the database queued, the run's
upkeep (``refresh_analytics``, wall seconds) and the time from the import's last page to
the commit of the run's closing transaction (run status, sentence diffs of the new
versions, upkeep), when analysts see the views current, against the 2 s target; as
anchor a full rebuild of the summaries (``refresh_analytics(full=True)``, rolled back).
Then every maintained view is compared row for row with revision 0003's definitions live
(tests/support/analytics_oracle.py; ``--no-check`` skips it, it takes minutes). The pages
get new URLs on every invocation, so the database grows by 2N versions each time.

Queries: for each, the median of 5 runs (after one warm-up), the 100 ms target beside it,
and as anchor the same answer computed live from the base tables (one run), plus a
short EXPLAIN summary (the plan's node lines). The queries are the guide's own examples
(docs/analyst.md), so the numbers measure what analysts run.

Usage::

    HUBWATCH_DATA_DIR=/tmp/hw-bench .venv/bin/python benchmarks/analyst_queries.py
    .venv/bin/python benchmarks/analyst_queries.py --database-url postgresql://... \
        --shared /work/shared --ingest 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

TARGET_MS = 100.0
FRESH_TARGET_S = 2.0
EXAMPLES = ("weekly-trend-per-hub", "co-mentions", "mention-changes-last-week")

# The same answers straight from the base tables: what the materialised views save.
LIVE = {
    "weekly-trend-per-hub": """
        SELECT date_trunc('week', x.day)::date AS week, x.hub, count(DISTINCT x.document_id),
               count(*)
        FROM (SELECT cd.document_id, COALESCE(p.key, e.key) AS hub,
                     (COALESCE(cd.published_at, cd.first_seen_at) AT TIME ZONE 'Asia/Shanghai')::date AS day
              FROM current_documents cd JOIN mention m ON m.version_id = cd.version_id
              JOIN entity e ON e.id = m.entity_id LEFT JOIN entity p ON p.id = e.parent_id) x
        WHERE x.day >= (now() AT TIME ZONE 'Asia/Shanghai')::date - 84
        GROUP BY 1, 2""",
    "co-mentions": """
        WITH de AS (SELECT DISTINCT cd.document_id, m.entity_id FROM current_documents cd
                    JOIN mention m ON m.version_id = cd.version_id)
        SELECT a.entity_id, b.entity_id, count(*) FROM de a
        JOIN de b ON a.document_id = b.document_id AND a.entity_id < b.entity_id
        GROUP BY 1, 2""",
    "mention-changes-last-week": """
        WITH p AS (SELECT * FROM (SELECT v.id, lag(v.id) OVER (PARTITION BY v.document_id
                                  ORDER BY v.valid_from) AS prev, v.valid_from FROM document_version v) x
                   WHERE prev IS NOT NULL AND valid_from >= now() - interval '7 days')
        SELECT p.id, m.entity_id,
               count(*) FILTER (WHERE m.version_id = p.id) - count(*) FILTER (WHERE m.version_id = p.prev)
        FROM p JOIN mention m ON m.version_id IN (p.id, p.prev) GROUP BY 1, 2""",
}


def guide_examples() -> dict[str, str]:
    """Named example queries of docs/analyst.md."""
    guide = (ROOT / "docs" / "analyst.md").read_text(encoding="utf-8")
    found = {}
    for block in re.findall(r"```sql\n(.*?)```", guide, re.S):
        name = re.search(r"--\s*example:\s*(\S+)", block)
        if name:
            found[name.group(1)] = block
    return found


def _time_ms(conn, sql: str) -> float:
    start = time.perf_counter()
    conn.execute(text(sql)).all()
    return (time.perf_counter() - start) * 1000


def explain_summary(conn, sql: str, limit: int = 8) -> list[str]:
    """The first plan nodes (name, relation, index) and the execution time."""
    lines = conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) " + sql)).scalars().all()
    nodes = [ln.strip() for ln in lines if "->" in ln or not ln.startswith((" ", "Execution"))]
    return nodes[:limit] + [ln.strip() for ln in lines if ln.startswith("Execution Time")]


def run(url: str, repeats: int = 5) -> None:
    engine = create_engine(url)
    examples = guide_examples()
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("document_version", "mention")}
        print(f"database: {counts['document_version']:,} versions, {counts['mention']:,} mentions")
        print(f"{'query':<28}{'median ms':>10}{'target ms':>10}{'live ms':>10}  rows")
        plans = {}
        for name in EXAMPLES:
            sql = examples[name]
            rows = len(conn.execute(text(sql)).all())  # warm-up
            median = statistics.median(_time_ms(conn, sql) for _ in range(repeats))
            live = _time_ms(conn, LIVE[name])
            print(f"{name:<28}{median:>10.1f}{TARGET_MS:>10.0f}{live:>10.0f}  {rows}")
            plans[name] = explain_summary(conn, sql)
    for name, lines in plans.items():
        print(f"\nEXPLAIN {name}:")
        print("\n".join("  " + ln for ln in lines))
    engine.dispose()


_LONG_PARAGRAPH = re.compile(rb"(<p[^>]*>)(?=[^<]{80,})")


def _edited(body: bytes) -> bytes:
    """The page with a sentence naming two hubs and the plan put at the start of its first
    long paragraph (main text on most pages): a new version, mentions changed."""
    extra = (b"Edited: the Greater Bay Area and the Yangtze River Delta cooperate under "
             b"the 15th Five-Year Plan. ")
    return _LONG_PARAGRAPH.sub(lambda m: m.group(1) + extra, body, count=1)


def _warc(pages: list[tuple[str, bytes]], out: Path, fetched) -> None:
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(out, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for i, (url, body) in enumerate(pages):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            when = (fetched + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers,
                warc_headers_dict={"WARC-Date": when}))


def _import_run(path: Path) -> dict:
    """One import-warc run of ``path``; the queue, upkeep and end-to-current figures."""
    from hubwatch.models.db import get_engine
    from hubwatch.pipeline import runs

    timed: dict = {}
    real_refresh, real_deliver = runs.refresh_analytics, runs.deliver_alerts

    def refresh(session, **kw):
        timed["queued"] = session.execute(text(
            "SELECT count(DISTINCT document_id) FROM analytics_queue")).scalar_one()
        start = time.perf_counter()
        timed["documents"] = real_refresh(session, **kw)
        timed["upkeep_s"] = time.perf_counter() - start
        return timed["documents"]

    def deliver(*args):  # called right after the closing transaction committed
        timed["committed"] = time.perf_counter()
        return real_deliver(*args)

    runs.refresh_analytics, runs.deliver_alerts = refresh, deliver
    try:
        with runs.crawl_run("import-warc", {"paths": [str(path)]}) as handle:
            with runs.run_batch(handle.run_id, with_fetcher=False) as (pipeline, _):
                pipeline.import_warc(path)
            handle.merge(pipeline.counts.state())
            ingest_end = time.perf_counter()
        timed["end_to_current_s"] = timed["committed"] - ingest_end
    finally:
        runs.refresh_analytics, runs.deliver_alerts = real_refresh, real_deliver
    timed["new_versions"] = handle.counts.as_dict().get("new_versions")
    get_engine().dispose()
    return timed


def freshness(url: str, shared: Path, pages: int, check: bool) -> None:
    """Import ``pages`` new pages, then the same pages edited; print the upkeep figures."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT / "tests"))
    from throughput import distinct_copy, source_pages

    os.environ["DATABASE_URL"] = url
    stamp = int(time.time())
    bodies = source_pages(shared)
    urls = [f"https://fresh.example.org/{stamp}/page-{i}.html" for i in range(pages)]
    new = [(u, distinct_copy(bodies[i % len(bodies)], i, u)) for i, u in enumerate(urls)]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    engine = create_engine(url)
    print(f"{'run':<28}{'versions':>9}{'queued':>8}{'upkeep s':>10}{'end→current s':>15}"
          f"{'target s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, batch, when in (("import-warc, new pages", new, now - dt.timedelta(hours=2)),
                                   ("import-warc, edited pages",
                                    [(u, _edited(b)) for u, b in new], now - dt.timedelta(hours=1))):
            warc = Path(tmp) / "fresh.warc.gz"
            _warc(batch, warc, when)
            r = _import_run(warc)
            print(f"{label:<28}{r['new_versions']:>9}{r['queued']:>8}{r['upkeep_s']:>10.3f}"
                  f"{r['end_to_current_s']:>15.3f}{FRESH_TARGET_S:>9.0f}")
    with Session(engine) as session:
        from hubwatch.models.analytics import refresh_analytics

        start = time.perf_counter()
        refresh_analytics(session, full=True)
        print(f"{'anchor: full rebuild':<28}{'':>17}{time.perf_counter() - start:>10.3f}"
              "   (rolled back)")
        session.rollback()
        if check:
            from support.analytics_oracle import all_differences

            diffs = all_differences(session)
            print("views equal to revision 0003's live definitions:",
                  "yes" if not any(diffs.values()) else f"NO {diffs}")
    engine.dispose()


_MENTIONS = """
    INSERT INTO mention (version_id, entity_id, surface, zone, start_offset, end_offset, sentence)
    SELECT (CAST(:ids AS bigint[]))[1 + g % 100], 1 + g % 4, 'surface', 'body', 1000000 + g,
           1000004 + g, 'A sentence.'
    FROM generate_series(:first, :first + :rows - 1) g
    ON CONFLICT DO NOTHING"""


def _backend_cpu_s(conn) -> float | None:
    """CPU seconds the connection's server process has used (local server only, else None)."""
    pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _insert_cost(conn, statements: int) -> tuple[float, float | None]:
    """(wall ms, server CPU ms) to insert 10,000 mentions into 100 current versions in
    ``statements`` INSERTs (the caller rolls back)."""
    ids = conn.execute(text("SELECT id FROM document_version WHERE valid_to IS NULL "
                            "ORDER BY id DESC LIMIT 100")).scalars().all()
    rows = 10_000 // statements
    cpu, start = _backend_cpu_s(conn), time.perf_counter()
    for i in range(statements):
        conn.execute(text(_MENTIONS), {"ids": ids, "first": i * rows, "rows": rows})
    wall, cpu_after = (time.perf_counter() - start) * 1000, _backend_cpu_s(conn)
    return wall, None if cpu is None else (cpu_after - cpu) * 1000


def trigger_cost(url: str, repeats: int = 5) -> None:
    """The write path's cost of the change capture: 10,000 mentions inserted with and
    without the statement trigger (medians of ``repeats``, each rolled back, alternating);
    server CPU time beside wall time (the machine may be shared)."""
    engine = create_engine(url)
    print(f"{'10,000 mentions inserted':<30}{'trigger on: wall ms':>20}{'cpu ms':>8}"
          f"{'off: wall ms':>14}{'cpu ms':>8}")
    for statements in (3, 100, 10_000):
        runs: dict[bool, list] = {True: [], False: []}
        for _ in range(repeats):
            for enabled in (True, False):
                with engine.connect() as conn:
                    if not enabled:
                        conn.execute(text("ALTER TABLE mention DISABLE TRIGGER analytics_mentions_inserted"))
                    runs[enabled].append(_insert_cost(conn, statements))
                    conn.rollback()
        cells = []
        for enabled in (True, False):
            wall = statistics.median(r[0] for r in runs[enabled])
            cpus = [r[1] for r in runs[enabled] if r[1] is not None]
            cells += [f"{wall:.0f}", f"{statistics.median(cpus):.0f}" if cpus else "-"]
        print(f"{f'in {statements:,} INSERT(s)':<30}{cells[0]:>20}{cells[1]:>8}{cells[2]:>14}{cells[3]:>8}")
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Time the analyst queries.")
    parser.add_argument("--database-url", help="default: DATABASE_URL or the embedded server")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ingest", type=int, default=100, help="pages per freshness run (0: none)")
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("HUBWATCH_SHARED", "/work/shared")))
    parser.add_argument("--no-check", action="store_true", help="skip the row-for-row check")
    parser.add_argument("--trigger-cost", action="store_true",
                        help="also time 10,000 mention inserts with and without the change capture")
    args = parser.parse_args(argv)
    from hubwatch.models.db import database_url, normalise_url

    url = normalise_url(args.database_url) if args.database_url else database_url()
    if args.trigger_cost:
        trigger_cost(url)
    if args.ingest:
        freshness(url, args.shared, args.ingest, not args.no_check)
    run(url, args.repeats)


if __name__ == "__main__":
    main()
