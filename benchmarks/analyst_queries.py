"""Time the analyst queries on a seeded database (benchmarks/seed.py).

For each query: the median of 5 runs (after one warm-up), the 100 ms target beside it,
and as anchor the same answer computed live from the base tables (one run), plus a
short EXPLAIN summary (the plan's node lines). The queries are the guide's own examples
(docs/analyst.md), so the numbers measure what analysts run.

Usage::

    HUBWATCH_DATA_DIR=/tmp/hw-bench .venv/bin/python benchmarks/analyst_queries.py
    .venv/bin/python benchmarks/analyst_queries.py --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from sqlalchemy import create_engine, text

TARGET_MS = 100.0
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Time the analyst queries.")
    parser.add_argument("--database-url", help="default: DATABASE_URL or the embedded server")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from hubwatch.models.db import database_url, normalise_url

    run(normalise_url(args.database_url) if args.database_url else database_url(), args.repeats)


if __name__ == "__main__":
    main()
