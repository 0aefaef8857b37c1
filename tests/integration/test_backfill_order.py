"""Backfill in any order (issue 12 point 2): importing the shared crawl days newest first
gives what importing them in capture order gives, on every column that does not depend on
when the import ran (ids and fetch times may differ)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import load_sources
from hubwatch.config.watchlist import load_watchlist
from hubwatch.models.analytics import refresh_analytics
from hubwatch.pipeline.ingest import Pipeline

pytestmark = pytest.mark.db

VERSIONS = """
SELECT d.canonical_url AS url, v.version_no, v.valid_from, v.valid_to, v.content_hash, d.gone_at
FROM document d LEFT JOIN document_version v ON v.document_id = d.id
ORDER BY 1, 2
"""
CHANGES = "SELECT url, entity, added, removed FROM mention_changes ORDER BY 1, 2, 3, 4"
TRUNCATE = ("TRUNCATE mention, version_match, snapshot, document_version, document_url, "
            "document, crawl_run RESTART IDENTITY CASCADE")


def _import(engine, files) -> tuple[list, list, int]:
    sessions = sessionmaker(engine, expire_on_commit=False)
    settings = get_settings()
    for path in files:
        Pipeline.open(sessions, load_sources(settings.sources_file),
                 load_watchlist(settings.watchlist_file), settings=settings).import_warc(path)
    with sessions.begin() as session:
        refresh_analytics(session, concurrently=False)
    with engine.begin() as conn:
        versions = [tuple(r) for r in conn.execute(text(VERSIONS))]
        changes = [tuple(r) for r in conn.execute(text(CHANGES))]
        orphans = conn.execute(text(
            "SELECT count(*) FROM snapshot WHERE outcome = 'gone' AND document_id IS NULL")).scalar()
        conn.execute(text(TRUNCATE))
    return versions, changes, orphans


def test_newest_first_equals_capture_order(clean_db, shared_dir):
    warc = shared_dir / "corpus" / "warc"
    day1, day2 = warc / "policy-day1.warc.gz", warc / "policy-day2.warc.gz"
    engine = create_engine(clean_db)
    try:
        in_order = _import(engine, [day1, day2])
        reversed_ = _import(engine, [day2, day1])
    finally:
        engine.dispose()
    versions, changes, orphans = in_order
    assert sum(1 for r in versions if r[5] is not None) >= 1  # the archive has 404s
    assert changes  # and edits that change mentions
    assert reversed_[0] == versions
    assert reversed_[1] == changes
    # Every 404 of a document the archives know is linked to it, whatever the order.
    assert reversed_[2] == orphans
