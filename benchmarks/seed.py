"""Build a synthetic hubwatch database for the analyst-query benchmark.

Default shape: 200,000 document versions (150,000 documents, a third edited
once), 1,000,000 mentions, two years of crawling, 10 sources (English and Chinese,
commentary and policy), 4 top-level entities and 8 sub-areas, one crawl run per day and
one snapshot per version (plus a few failed fetches). Everything is generated inside
PostgreSQL with ``INSERT ... SELECT generate_series`` (seeded ``random()``), so a run
takes seconds, not minutes.

Usage::

    HUBWATCH_DATA_DIR=/tmp/hw-bench .venv/bin/python benchmarks/seed.py --reset
    .venv/bin/python benchmarks/seed.py --database-url postgresql://... --reset

The database is migrated to head first. It refuses to write into a database that holds
documents unless ``--reset`` is given (which empties every hubwatch table).
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import create_engine, text

TABLES = ("mention", "snapshot", "document_version", "document_url", "document",
          "crawl_run", "alias", "entity", "source")

SOURCES = """
INSERT INTO source (id, slug, name, kind, language) VALUES
 (1, 'cgtn-opinions', 'CGTN Opinions', 'commentary', 'en'),
 (2, 'chinadaily-opinion', 'China Daily Opinion', 'commentary', 'en'),
 (3, 'xinhua-english', 'Xinhua English', 'commentary', 'en'),
 (4, 'gov-cn-en-policies', 'english.www.gov.cn policies', 'policy', 'en'),
 (5, 'gov-cn-zh-policies', 'www.gov.cn 政策', 'policy', 'zh'),
 (6, 'ndrc-news', 'NDRC news', 'policy', 'zh'),
 (7, 'gmw-theory', 'Guangming Daily theory', 'commentary', 'zh'),
 (8, 'people-en', 'People''s Daily English', 'commentary', 'en'),
 (9, 'people-zh', '人民网', 'commentary', 'zh'),
 (10, 'other', 'Catch-all', 'other', NULL)
"""

ENTITIES = """
INSERT INTO entity (id, key, name, name_zh, parent_id) VALUES
 (1, 'bth', 'Beijing-Tianjin-Hebei', '京津冀', NULL),
 (2, 'gba', 'Greater Bay Area', '粤港澳大湾区', NULL),
 (3, 'yrd', 'Yangtze River Delta', '长三角', NULL),
 (4, 'fyp15', '15th Five-Year Plan', '十五五', NULL),
 (5, 'xiongan', 'Xiong''an New Area', '雄安新区', 1),
 (6, 'tongzhou', 'Beijing sub-centre', '北京城市副中心', 1),
 (7, 'hengqin', 'Hengqin', '横琴', 2),
 (8, 'qianhai', 'Qianhai', '前海', 2),
 (9, 'nansha', 'Nansha', '南沙', 2),
 (10, 'hetao', 'Hetao', '河套', 2),
 (11, 'yrd-demo-zone', 'YRD integration demonstration zone', '长三角生态绿色一体化发展示范区', 3),
 (12, 'hongqiao', 'Hongqiao hub', '虹桥国际开放枢纽', 3)
"""

ALIASES = """
INSERT INTO alias (entity_id, alias_text, language)
SELECT id, name, 'en' FROM entity UNION ALL SELECT id, name_zh, 'zh' FROM entity
"""

# One nightly run per day over two years.
RUNS = """
INSERT INTO crawl_run (id, flow_name, started_at, ended_at, run_status)
SELECT g, 'nightly', now() - make_interval(days => :days - g), now() - make_interval(days => :days - g)
       + interval '40 minutes', 'completed'
FROM generate_series(1, :days) g
"""

DOCUMENTS = """
INSERT INTO document (id, source_id, canonical_url, first_seen_at, last_fetched_at)
SELECT g, src, 'https://bench.example/' || src || '/' || g, seen, seen
FROM (SELECT g, 1 + floor(random() * 10)::int AS src,
             now() - make_interval(secs => random() * :days * 86400) AS seen
      FROM generate_series(1, :documents) g) x
"""

WORDS_EN = ("'{Greater Bay Area,innovation,Yangtze River Delta,Beijing-Tianjin-Hebei,plan,"
            "technology,reform,15th Five-Year Plan,industry,cooperation,region,development}'")
WORDS_ZH = "'{粤港澳大湾区,创新,长三角,京津冀,十五五,规划,科技,改革,产业,合作,区域,发展}'"

# A text of three short paragraphs from a small vocabulary: realistic index sizes.
TEXT_EXPR = f"""
    array_to_string(ARRAY(SELECT (CASE WHEN s.language = 'zh' THEN {WORDS_ZH}::text[]
                                  ELSE {WORDS_EN}::text[] END)[1 + floor(random() * 12)::int]
                          || CASE WHEN k % 8 = 0 THEN E'\\n\\n' ELSE ' ' END
                          FROM generate_series(1, 24 + (d.id % 3)) k), '')
"""

VERSIONS = f"""
INSERT INTO document_version (id, document_id, version_no, captured_at, valid_from, valid_to,
    final_url, canonical_url, raw_body, title, main_text, published_at, published_precision,
    language, content_hash, extractor_version)
SELECT d.id + (v.no - 1) * :documents, d.id, v.no, v.at, v.at, v.until,
       d.canonical_url, d.canonical_url, '\\x'::bytea,
       'Title ' || d.id || ' v' || v.no, {TEXT_EXPR},
       CASE WHEN d.id % 10 = 0 THEN NULL ELSE d.first_seen_at - interval '3 hours' END,
       CASE WHEN d.id % 10 = 0 THEN NULL ELSE 'minute' END,
       s.language, md5(d.id || '-' || v.no), 'bench'
FROM document d JOIN source s ON s.id = d.source_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN d.id <= :edited THEN d.first_seen_at
        + LEAST(make_interval(secs => 3600 + random() * 30 * 86400),
                (now() - d.first_seen_at) / 2) END AS edit_at
) e
CROSS JOIN LATERAL (
    SELECT 1 AS no, d.first_seen_at AS at, e.edit_at AS until
    UNION ALL
    SELECT 2, e.edit_at, NULL WHERE e.edit_at IS NOT NULL
) v
"""

# Weighted entity pick: hubs and fyp15 common, sub-areas rarer.
MENTIONS = """
INSERT INTO mention (id, version_id, entity_id, alias_id, surface, zone, start_offset,
                     end_offset, sentence)
SELECT g, vid, ent, NULL, 'surface', CASE WHEN g % 15 = 0 THEN 'title' ELSE 'body' END,
       g, g + 4, 'A sentence around the mention.'
FROM (SELECT g, (SELECT array_agg(id) FROM document_version) AS ids,
             ('{1,1,1,2,2,2,2,3,3,3,4,4,4,4,5,6,7,8,9,10,11,12}'::int[])
                 [1 + floor(random() * 22)::int] AS ent
      FROM generate_series(1, :mentions) g) x,
     LATERAL (SELECT x.ids[1 + floor(random() * array_length(x.ids, 1))::int] AS vid) v
"""

SNAPSHOTS = """
INSERT INTO snapshot (crawl_run_id, source_id, document_id, requested_url, final_url,
                      fetched_at, http_status, outcome, new_version, version_id)
SELECT GREATEST(1, :days - floor(extract(epoch FROM now() - v.captured_at) / 86400)::int),
       d.source_id, d.id, d.canonical_url, d.canonical_url, v.captured_at, 200, 'ok', true, v.id
FROM document_version v JOIN document d ON d.id = v.document_id
UNION ALL
SELECT r, 1 + r % 10, NULL, 'https://bench.example/feed/' || r, NULL,
       now() - make_interval(days => :days - r), NULL, 'timeout', false, NULL
FROM generate_series(1, :days, 7) r
"""


def seed(url: str, *, documents: int, versions: int, mentions: int, days: int) -> dict:
    """Fill the database at ``url``; returns the row counts and seconds per step."""
    edited = versions - documents
    params = {"documents": documents, "edited": edited, "mentions": mentions, "days": days}
    timings: dict[str, float] = {}
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.42)"))
        for name, sql in (("sources", SOURCES), ("entities", ENTITIES), ("aliases", ALIASES),
                          ("runs", RUNS), ("documents", DOCUMENTS), ("versions", VERSIONS),
                          ("mentions", MENTIONS),
                          ("snapshots", SNAPSHOTS)):
            start = time.perf_counter()
            conn.execute(text(sql), params)
            timings[name] = time.perf_counter() - start
        for table in ("source", "entity", "alias", "crawl_run", "document", "document_version",
                      "mention", "snapshot"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(max(id), 1) FROM {table}))"))
    _finish(engine, timings)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("document", "document_version", "mention", "snapshot")}
    engine.dispose()
    return {"counts": counts, "seconds": timings}


def _finish(engine, timings: dict[str, float]) -> None:
    """ANALYZE the tables and fill the analyst views' summaries (a full rebuild: every
    document is new)."""
    from sqlalchemy.orm import Session

    from hubwatch.models.analytics import refresh_analytics

    start = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    timings["vacuum_analyze"] = time.perf_counter() - start
    start = time.perf_counter()
    with Session(engine) as session, session.begin():
        refresh_analytics(session, full=True)
    timings["refresh_analytics"] = time.perf_counter() - start
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def _prepare(url: str, reset: bool) -> None:
    from hubwatch.models.db import upgrade

    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        if reset:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        elif conn.execute(text("SELECT EXISTS (SELECT FROM document)")).scalar_one():
            raise SystemExit("the database holds documents: pass --reset to replace them")
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL or the embedded server")
    parser.add_argument("--reset", action="store_true", help="empty every hubwatch table first")
    parser.add_argument("--documents", type=int, default=150_000)
    parser.add_argument("--versions", type=int, default=200_000)
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args(argv)
    if not args.documents <= args.versions <= 2 * args.documents:
        parser.error("--versions must be between --documents and twice that")
    from hubwatch.models.db import database_url, normalise_url

    url = normalise_url(args.database_url) if args.database_url else database_url()
    _prepare(url, args.reset)
    result = seed(url, documents=args.documents, versions=args.versions,
                  mentions=args.mentions, days=args.days)
    for table, count in result["counts"].items():
        print(f"{table:<18} {count:>10,}")
    for step, seconds in result["seconds"].items():
        print(f"{step:<18} {seconds:>9.2f} s")
    print(f"{'total':<18} {sum(result['seconds'].values()):>9.2f} s")


if __name__ == "__main__":
    main()
