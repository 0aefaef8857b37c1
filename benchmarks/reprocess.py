"""Re-matching throughput of ``reprocess`` on the embedded database.

Builds N stored versions (default 12,000) by cloning the versions of the two shared WARC
days under new documents (real texts, real sizes), then times:

  anchor   Matcher.find over the same texts in memory (no database)
  extract  `reprocess --extract` over all versions, beside parse_page alone
  pass 1   reprocess after a watch-list edit (an alias added and one removed)
  pass 2   reprocess with no change (nothing rewritten)

Usage: HUBWATCH_DATA_DIR=/tmp/hw-bench python benchmarks/reprocess.py SHARED_DIR [--versions N]
(or set DATABASE_URL). It uses a scratch database ``hubwatch_bench_reprocess`` on that server.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from hubwatch.config.settings import CONFIG_DIR, get_settings
from hubwatch.config.sources import load_sources
from hubwatch.config.watchlist import load_watchlist
from hubwatch.models.db import database_url, upgrade
from hubwatch.pipeline.ingest import Pipeline
from hubwatch.pipeline.reprocess import reprocess_versions

DB = "hubwatch_bench_reprocess"


def scratch_database() -> str:
    """A fresh migrated database ``DB``: created by the embedded server's bootstrap
    superuser (the application role creates no databases), or by DATABASE_URL's role."""
    from hubwatch.config.settings import get_settings

    if get_settings().database_url is None:
        from hubwatch.models.embedded import EmbeddedPostgres, create_database, drop_database

        info = EmbeddedPostgres(get_settings().data_dir).acquire()
        drop_database(info, DB)
        create_database(info, DB)
        url = info.url(DB)
    else:
        base = make_url(database_url())
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
            conn.execute(text(f"CREATE DATABASE \"{DB}\" TEMPLATE template0 ENCODING 'UTF8' "
                              "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"))
        admin.dispose()
        url = base.set(database=DB).render_as_string(hide_password=False)
    upgrade(url)
    return url


def clone_versions(engine, target: int) -> int:
    """Copy the stored versions (and their mentions) under new documents until ``target``."""
    with engine.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM document_version")).scalar()
        copies = max(0, -(-target // have) - 1)
        conn.execute(text("""
            INSERT INTO document (source_id, canonical_url, first_seen_at)
            SELECT d.source_id, d.canonical_url || '#copy' || g, d.first_seen_at
            FROM document d CROSS JOIN generate_series(1, :k) g"""), {"k": copies})
        conn.execute(text("""
            INSERT INTO document_version (document_id, version_no, captured_at, valid_from, valid_to,
                final_url, canonical_url, content_type, raw_body, encoding, title, main_text,
                published_at, published_precision, author, language, content_hash,
                extractor_version)
            SELECT c.id, v.version_no, v.captured_at, v.valid_from, v.valid_to, v.final_url,
                   c.canonical_url, v.content_type, v.raw_body, v.encoding, v.title, v.main_text,
                   v.published_at, v.published_precision, v.author, v.language, v.content_hash,
                   v.extractor_version
            FROM document_version v JOIN document d ON d.id = v.document_id
            JOIN document c ON c.canonical_url LIKE d.canonical_url || '#copy%'"""))
        conn.execute(text("""
            INSERT INTO mention (version_id, entity_id, alias_id, surface, zone, start_offset,
                                 end_offset, sentence)
            SELECT cv.id, m.entity_id, m.alias_id, m.surface, m.zone, m.start_offset,
                   m.end_offset, m.sentence
            FROM mention m JOIN document_version v ON v.id = m.version_id
            JOIN document d ON d.id = v.document_id
            JOIN document c ON c.canonical_url LIKE d.canonical_url || '#copy%'
            JOIN document_version cv ON cv.document_id = c.id AND cv.version_no = v.version_no"""))
        conn.execute(text("""
            INSERT INTO version_match (version_id, watchlist_revision)
            SELECT v.id, (SELECT watchlist_revision FROM version_match LIMIT 1)
            FROM document_version v ON CONFLICT DO NOTHING"""))
        return conn.execute(text("SELECT count(*) FROM document_version")).scalar()


def time_reextraction(engine, sessions, pipeline) -> tuple[float, float, int]:
    """Seconds for parse_page alone and for `reprocess --extract` over the same versions."""
    from hubwatch.text.extract import parse_page

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT raw_body, final_url, content_type, captured_at "
                                 "FROM document_version")).all()
    t0 = time.perf_counter()
    for body, url, ctype, at in rows:
        parse_page(body, url=url, content_type=ctype, fetched_at=at)
    alone = time.perf_counter() - t0
    t0 = time.perf_counter()
    reprocess_versions(sessions, pipeline, extract=True)
    return alone, time.perf_counter() - t0, len(rows)


def edited_watchlist(tmp: Path):
    data = yaml.safe_load((CONFIG_DIR / "watchlist.yaml").read_text(encoding="utf-8"))
    for entity in data["entities"]:
        if entity["key"] == "nansha":
            entity["aliases"]["zh_hans"].remove("广州南沙")
            entity["aliases"]["zh_hant"].remove("廣州南沙")
    data["entities"].append({"key": "sci_centre", "name": "S&T innovation centre",
                             "aliases": {"zh_hans": ["国际科技创新中心"]}})
    path = tmp / "watchlist-edited.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_watchlist(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shared", type=Path)
    parser.add_argument("--versions", type=int, default=12_000)
    args = parser.parse_args()
    url = scratch_database()
    engine = create_engine(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    sources = load_sources(get_settings().sources_file)
    pipeline = Pipeline.open(sessions, sources, load_watchlist(CONFIG_DIR / "watchlist.yaml"))
    for day in (1, 2):
        pipeline.import_warc(args.shared / f"corpus/warc/policy-day{day}.warc.gz")
    n = clone_versions(engine, args.versions)
    with engine.connect() as conn:
        texts = conn.execute(text("SELECT title, main_text FROM document_version")).all()
    mb = sum(len(t.encode()) + len(b.encode()) for t, b in texts) / 1e6
    edited = Pipeline.open(sessions, sources, edited_watchlist(Path("/tmp")))
    t0 = time.perf_counter()
    for title, body in texts:
        edited.matcher.find(title, body)
    anchor = time.perf_counter() - t0
    t0 = time.perf_counter()
    first = reprocess_versions(sessions, edited)
    pass1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = reprocess_versions(sessions, edited)
    pass2 = time.perf_counter() - t0
    reextract = time_reextraction(engine, sessions, edited)
    print(f"versions: {n:,}  text: {mb:.1f} MB")
    print(f"{'step':<40}{'seconds':>10}{'versions/s':>14}")
    print(f"{'anchor: Matcher.find in memory':<40}{anchor:>10.2f}{n / anchor:>14,.0f}")
    print(f"{'reprocess after watch-list edit':<40}{pass1:>10.2f}{n / pass1:>14,.0f}")
    print(f"{'reprocess, nothing changed':<40}{pass2:>10.2f}{n / pass2:>14,.0f}")
    print(f"{'anchor: parse_page on the stored bodies':<40}{reextract[0]:>10.2f}{reextract[2] / reextract[0]:>14,.0f}")
    print(f"{'reprocess --extract (all versions)':<40}{reextract[1]:>10.2f}{reextract[2] / reextract[1]:>14,.0f}")
    print(f"pass 1: rewritten {first.versions_rewritten}, added {dict(first.added)}, "
          f"removed {dict(first.removed)}")
    print(f"pass 2: rewritten {second.versions_rewritten}")
    engine.dispose()


if __name__ == "__main__":
    main()
