"""The write path's statements (models/store.py: text with typed parameters, many rows as
arrays through unnest) store what the ORM statements they replaced stored: any number of
mentions in one statement (NULL aliases included, duplicates ignored), match marks that move
only when the revision changes, archived snapshots unique per capture, URL mappings kept by
the first writer, and official-document records replaced on a re-extract."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from hubwatch.models import records, store

pytestmark = pytest.mark.db

AT = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)


@pytest.fixture
def sessions(clean_db):
    engine = create_engine(clean_db)
    yield sessionmaker(engine)
    engine.dispose()


def _source_and_entity(session) -> tuple[int, int]:
    source_id = session.execute(text(
        "INSERT INTO source (slug, name, kind) VALUES ('s', 'S', 'policy') RETURNING id")).scalar_one()
    entity_id = session.execute(text(
        "INSERT INTO entity (key, name) VALUES ('gba', 'GBA') RETURNING id")).scalar_one()
    return source_id, entity_id


def _version(session, doc_id: int, body: bytes = b"<html>\x00\xff</html>") -> int:
    data = store.VersionInput(
        captured_at=AT, final_url="https://s.example/a", canonical_url="https://s.example/a",
        content_type="text/html", raw_body=body, encoding="utf-8", title="T", main_text="text",
        published_at=None, published_precision=None, author=None, language="en", extractor_version="x")
    return store.add_version(session, doc_id, data, [], {}, {}, "rev-1", new_document=True)


def test_mentions_go_in_one_statement_whatever_their_count(sessions):
    with sessions.begin() as session:
        source_id, entity_id = _source_and_entity(session)
        doc_id, created = store.resolve_document(session, canonical_url="https://s.example/a",
                                                 urls=["https://s.example/a?x=1"], source_id=source_id,
                                                 seen_at=AT)
        version_id = _version(session, doc_id)
        # More rows than a multi-row VALUES could bind (8 parameters a row, 65,535 at most),
        # no alias known for any (NULL), one duplicate of the (version, zone, start, entity) key.
        many = [records.Mention("gba", "GBA", "GBA", i * 4, i * 4 + 3, "body", f"s{i}") for i in range(9000)]
        given = store.insert_mentions(session, version_id, [*many, many[0]], {"gba": entity_id}, {})
        skipped = store.insert_mentions(session, version_id, [records.Mention("plan", "x", "x", 0, 1, "body", "")],
                                        {"gba": entity_id}, {})
    with sessions() as session:
        rows = session.execute(text("SELECT count(*), count(alias_id), min(sentence), max(end_offset) "
                                    "FROM mention WHERE version_id = :v"), {"v": version_id}).one()
    assert created and given == 9001 and skipped == 0
    assert tuple(rows) == (9000, 0, "s0", 8999 * 4 + 3)


def test_marks_move_only_on_a_new_revision_and_bodies_read_back(sessions):
    body = bytes(range(256)) * 40
    with sessions.begin() as session:
        source_id, _ = _source_and_entity(session)
        doc_id, _ = store.resolve_document(session, canonical_url="https://s.example/a", urls=[],
                                           source_id=source_id, seen_at=AT)
        version_id = _version(session, doc_id, body)
        again = store.mark_matched(session, [version_id], "rev-1")
        moved = store.mark_matched(session, [version_id], "rev-2")
        none = store.mark_matched(session, [], "rev-3")
    with sessions() as session:
        mark = session.execute(text("SELECT watchlist_revision FROM version_match WHERE version_id = :v"),
                               {"v": version_id}).scalar_one()
        stored = session.execute(text("SELECT raw_body FROM document_version WHERE id = :v"),
                                 {"v": version_id}).scalar_one()
    assert (again, moved, none, mark) == (0, 1, 0, "rev-2")
    assert bytes(stored) == body


def test_snapshots_urls_and_records_keep_their_rules(sessions):
    values = dict(crawl_run_id=None, source_id=None, requested_url="https://s.example/a",
                  final_url="https://s.example/a", fetched_at=AT, http_status=200, etag=None,
                  last_modified=None, body_sha256=None, body_bytes=3, attempts=1, outcome="ok",
                  error_message=None, redirects=["https://s.example/old"], via="warc", purpose="page")
    with sessions.begin() as session:
        source_id, _ = _source_and_entity(session)
        first = store.record_snapshot(session, **values)
        twice = store.record_snapshot(session, **values)
        live = store.record_snapshot(session, **{**values, "via": "http"})
        store.set_snapshot_outcome(session, live, "decode_error", "x" * 3000)
        a, _ = store.resolve_document(session, canonical_url="https://s.example/a",
                                      urls=["https://s.example/shared"], source_id=source_id, seen_at=AT)
        b, _ = store.resolve_document(session, canonical_url="https://s.example/b",
                                      urls=["https://s.example/shared"], source_id=source_id, seen_at=AT,
                                      created_values={"next_check_at": AT + dt.timedelta(days=1)})
        store.link_snapshot(session, first, document_id=a, version_id=None)
        version_id = _version(session, a)
        record = dict(issuing_bodies=["国务院"], document_number="国发〔2026〕1号", source_organ=None,
                      document_type="通知", topic=[], written_on=dt.date(2026, 1, 5), published_on=None,
                      index_number=None, validity=None)
        store.put_policy(session, version_id, record)
        store.put_policy(session, version_id, {**record, "document_number": "国发〔2026〕2号"})
    with sessions() as session:
        snaps = session.execute(text("SELECT via, outcome, length(error_message) AS n, redirects, document_id "
                                     "FROM snapshot ORDER BY id")).all()
        shared = session.execute(text("SELECT document_id FROM document_url WHERE url = 'https://s.example/shared'")
                                 ).scalar_one()
        due = session.execute(text("SELECT next_check_at FROM document WHERE id = :b"), {"b": b}).scalar_one()
        policy = session.execute(text("SELECT document_number, issuing_bodies, written_on FROM policy_record")
                                 ).all()
    assert twice is None and first is not None and live is not None
    assert [(s.via, s.outcome, s.n, s.redirects, s.document_id) for s in snaps] == [
        ("warc", "ok", None, ["https://s.example/old"], a), ("http", "decode_error", 2000, ["https://s.example/old"], None)]
    assert shared == a  # first writer wins
    assert due == AT + dt.timedelta(days=1)
    assert [tuple(p) for p in policy] == [("国发〔2026〕2号", ["国务院"], dt.date(2026, 1, 5))]
