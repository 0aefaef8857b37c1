"""Two real crawl days from WARC files into a migrated PostgreSQL.

Runs the domain pipeline without Prefect; tests/integration/test_flows.py drives the same
import through the Prefect flow and the CLI.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import load_sources
from hubwatch.config.watchlist import load_watchlist
from hubwatch.pipeline.ingest import Pipeline

pytestmark = pytest.mark.db


@pytest.fixture
def warc_dir(shared_dir):
    return shared_dir / "corpus" / "warc"


@pytest.fixture
def expected(warc_dir):
    return json.loads((warc_dir / "policy-expected.json").read_text())


@pytest.fixture
def pipeline_factory(clean_db):
    engine = create_engine(clean_db)
    sessions = sessionmaker(engine, expire_on_commit=False)
    settings = get_settings()

    def make() -> Pipeline:
        return Pipeline.open(sessions, load_sources(settings.sources_file),
                        load_watchlist(settings.watchlist_file), settings=settings)

    yield make, engine
    engine.dispose()


def _scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _doc_versions(engine, url: str) -> int:
    return _scalar(engine, "SELECT count(v.id) FROM document_url u JOIN document_version v "
                           "ON v.document_id = u.document_id WHERE u.url = :u", u=url)


def _table_counts(engine) -> dict[str, int]:
    return {t: _scalar(engine, f"SELECT count(*) FROM {t}")
            for t in ("document", "document_version", "mention", "document_url")}


def test_two_crawl_days(pipeline_factory, warc_dir, expected):
    make, engine = pipeline_factory
    day1, day2 = warc_dir / "policy-day1.warc.gz", warc_dir / "policy-day2.warc.gz"
    make().import_warc(day1)
    assert _scalar(engine, "SELECT count(*) FROM document") == expected["day1_urls"] == 36
    assert _scalar(engine, "SELECT count(*) FROM document_version") == 36
    make().import_warc(day2)
    assert _scalar(engine, "SELECT count(*) FROM document") == 36

    for item in expected["edited_text"]:
        assert _doc_versions(engine, item["url"]) == 2, item["url"]
    for url in expected["edited_boilerplate_only"]:
        assert _doc_versions(engine, url) == 1, url
    multi = _scalar(engine, "SELECT count(*) FROM (SELECT document_id FROM document_version "
                            "GROUP BY document_id HAVING count(*) > 1) x")
    assert multi == len(expected["edited_text"]) == 4

    for url in expected["gone_404"]:
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT d.gone_at, (SELECT count(*) FROM document_version v WHERE v.document_id = d.id) n,"
                " (SELECT count(*) FROM snapshot s WHERE s.document_id = d.id AND s.http_status = 404"
                "  AND s.outcome = 'gone') gone_snaps "
                "FROM document_url u JOIN document d ON d.id = u.document_id WHERE u.url = :u"),
                {"u": url}).one()
        assert row.gone_at is not None and row.n == 1 and row.gone_snaps == 1, url

    before = _table_counts(engine)
    make().import_warc(day2)
    make().import_warc(day1)
    assert _table_counts(engine) == before


def test_added_sentence_mentions_reach_the_new_version(pipeline_factory, warc_dir, expected):
    make, engine = pipeline_factory
    make().import_warc(warc_dir / "policy-day1.warc.gz")
    make().import_warc(warc_dir / "policy-day2.warc.gz")
    for item in expected["edited_text"]:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT v.version_no, e.key, m.sentence FROM document_url u "
                "JOIN document_version v ON v.document_id = u.document_id "
                "JOIN mention m ON m.version_id = v.id JOIN entity e ON e.id = m.entity_id "
                "WHERE u.url = :u"), {"u": item["url"]}).all()
        in_added = {key for no, key, sentence in rows if no == 2 and item["added"][:12] in sentence}
        # Each added sentence names the plan and one hub.
        assert "fyp15" in in_added, item["url"]
        assert in_added & {"gba", "yrd"}, item["url"]
        v1_sentences = {sentence for no, _, sentence in rows if no == 1}
        assert not any(item["added"][:12] in s for s in v1_sentences)


def test_archive_imported_out_of_order_keeps_capture_time_order(pipeline_factory, warc_dir,
                                                                 expected):
    make, engine = pipeline_factory
    make().import_warc(warc_dir / "policy-day2.warc.gz")
    make().import_warc(warc_dir / "policy-day1.warc.gz")
    url = expected["edited_text"][0]["url"]
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT v.version_no, v.valid_from, v.valid_to, v.main_text FROM document_url u "
            "JOIN document_version v ON v.document_id = u.document_id WHERE u.url = :u "
            "ORDER BY v.version_no"), {"u": url}).all()
    assert [r.version_no for r in rows] == [1, 2]
    assert rows[0].valid_to == rows[1].valid_from and rows[1].valid_to is None
    assert expected["edited_text"][0]["added"] not in rows[0].main_text
    assert expected["edited_text"][0]["added"] in rows[1].main_text
    # Unchanged pages: one version each, valid from the earlier (day-1) capture.
    assert _scalar(engine, "SELECT count(*) FROM document_version") == 36 + 4


def test_analyst_views_over_the_two_days(pipeline_factory, warc_dir, expected):
    """Issue 5 on real pages: mention_changes lists exactly the entities the day-2 edits
    added, and documents_as_of() between the two crawls returns the day-1 texts."""
    from hubwatch.models.analytics import refresh_analytics

    make, engine = pipeline_factory
    make().import_warc(warc_dir / "policy-day1.warc.gz")
    with engine.connect() as conn:
        day1 = dict(conn.execute(text("SELECT document_id, text FROM current_documents")).all())
    make().import_warc(warc_dir / "policy-day2.warc.gz")
    with engine.begin() as conn:
        from sqlalchemy.orm import Session

        refresh_analytics(Session(bind=conn), concurrently=False)
    with engine.connect() as conn:
        changes = conn.execute(text(
            "SELECT document_id, entity, added, removed FROM mention_changes")).all()
        doc_of = dict(conn.execute(text("SELECT url, document_id FROM document_url")).all())
        as_of = dict(conn.execute(text(
            "SELECT document_id, text FROM documents_as_of('2026-11-01T12:00:00Z')")).all())
        gone = conn.execute(text("SELECT count(*) FROM current_documents WHERE gone_at IS NOT NULL")
                            ).scalar()
    edited = {doc_of[e["url"]] for e in expected["edited_text"]}
    assert {c.document_id for c in changes} <= edited and all(c.removed == 0 for c in changes)
    by_doc: dict[int, set] = {}
    for c in changes:
        by_doc.setdefault(c.document_id, set()).add(c.entity)
    for item in expected["edited_text"]:
        added = by_doc.get(doc_of[item["url"]], set())
        assert "fyp15" in added and added & {"gba", "yrd"}, item["url"]
    assert as_of == day1
    assert gone == len(expected["gone_404"])
