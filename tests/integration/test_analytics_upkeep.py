"""Issue 15, point 3: the maintained views (document_entities, mention_daily, hub_daily,
co_mentions, mention_changes) stay equal to revision 0003's definitions computed live
after every kind of write, the upkeep touches only what changed, and concurrent upkeeps
agree (migration 0012, ``hubwatch.models.analytics.refresh_analytics``)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from support.analyst_seed import ENTITIES, seed
from support.analytics_oracle import all_differences

from hubwatch.models import records, store
from hubwatch.models.analytics import MAINTAINED_VIEWS, refresh_analytics

pytestmark = pytest.mark.db

UTC = dt.timezone.utc
ENTITY_IDS = {key: eid for eid, key, _ in ENTITIES}
SUMMARIES = ("analytics_document", "analytics_document_entity", "analytics_mention_daily",
             "analytics_hub_daily", "analytics_co_mention", "analytics_mention_change")


def _queued(session) -> list[int]:
    return session.execute(text(
        "SELECT DISTINCT document_id FROM analytics_queue ORDER BY 1")).scalars().all()


def _current(session) -> dict[str, int]:
    """Refresh, then the differences from the live answers (all zero when current)."""
    refresh_analytics(session)
    assert _queued(session) == []
    return all_differences(session)


ZERO = dict.fromkeys(MAINTAINED_VIEWS, 0)


@pytest.fixture
def corpus(db_session):
    found = seed(db_session)
    # Ids above the seed's fixed ones for rows the store functions add (sequences are not
    # rolled back with the test, so only ever raised).
    for table in ("document", "document_version"):
        db_session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"GREATEST(1000, (SELECT last_value FROM {table}_id_seq)))"))
    assert _current(db_session) == ZERO
    return found


def _mention(key: str, surface: str, body: str) -> records.Mention:
    start = body.index(surface)
    return records.Mention(entity=key, alias=surface, surface=surface, start=start,
                           end=start + len(surface), zone="body", sentence=body)


def _version(url: str, at: dt.datetime, body: str, *, published=None) -> store.VersionInput:
    return store.VersionInput(
        captured_at=at, final_url=url, canonical_url=url, content_type="text/html",
        raw_body=b"", encoding="utf-8", title=body[:20], main_text=body, published_at=published,
        published_precision="minute" if published else None, author=None, language=None,
        extractor_version="test")


def _add(session, doc_id: int, at: dt.datetime, body: str, found: dict[str, str], **kw) -> int:
    url = session.execute(text("SELECT canonical_url FROM document WHERE id = :d"),
                          {"d": doc_id}).scalar_one()
    mentions = [_mention(key, surface, body) for key, surface in found.items()]
    return store.add_version(session, doc_id, _version(url, at, body, **kw), mentions,
                             ENTITY_IDS, {}, "test")


def test_seed_counted_then_queue_empty(corpus, db_session):
    assert db_session.execute(text("SELECT count(*) FROM document_entities")).scalar_one() > 0
    assert refresh_analytics(db_session) == 0  # nothing queued: nothing done


def test_new_document(corpus, db_session):
    doc_id, created = store.resolve_document(
        db_session, canonical_url="https://en.example/new", urls=[], source_id=1,
        seen_at=corpus.now)
    body = "The Greater Bay Area and the Yangtze River Delta, and the Greater Bay Area again."
    _add(db_session, doc_id, corpus.now, body, {"gba": "Greater Bay Area", "yrd": "Yangtze River Delta"},
         published=corpus.now - dt.timedelta(hours=3))
    assert created and _queued(db_session) == [doc_id]
    assert _current(db_session) == ZERO
    pair = db_session.execute(text("SELECT documents FROM co_mentions WHERE entity_a = 'gba' "
                                   "AND entity_b = 'yrd'")).scalar_one()
    assert pair == 2  # D2 and the new document


def test_edit_adds_a_version(corpus, db_session):
    doc = corpus.docs["D3"]
    body = doc.current.text + "\n\nThe 15th Five-Year Plan names Qianhai."
    _add(db_session, doc.id, corpus.now, body, {"yrd": "Yangtze River Delta", "hengqin": "Hengqin",
                                                "fyp15": "15th Five-Year Plan", "qianhai": "Qianhai"},
         published=doc.current.published_at)
    assert _queued(db_session) == [doc.id]
    assert _current(db_session) == ZERO
    added = db_session.execute(text(
        "SELECT entity FROM mention_changes WHERE document_id = :d AND changed_at = :t "
        "ORDER BY entity"), {"d": doc.id, "t": corpus.now}).scalars().all()
    assert added == ["fyp15", "qianhai"]


def test_backfill_slots_an_older_version(corpus, db_session):
    doc = corpus.docs["D1"]
    first = doc.versions[0]
    earlier = first.valid_from - dt.timedelta(days=3)
    _add(db_session, doc.id, earlier, "A draft on Xiong'an only.", {"xiongan": "Xiong'an"},
         published=first.published_at)
    assert _queued(db_session) == [doc.id]
    assert _current(db_session) == ZERO


def test_reprocess_replaces_mentions(corpus, db_session):
    doc = corpus.docs["D1"]
    body = doc.current.text
    store.replace_mentions(db_session, doc.current.id, [_mention("fyp15", "15th Five-Year Plan", body)],
                           ENTITY_IDS, {})
    assert _queued(db_session) == [doc.id]
    assert _current(db_session) == ZERO
    entities = db_session.execute(text("SELECT entity FROM document_entities WHERE document_id = :d"),
                                  {"d": doc.id}).scalars().all()
    assert entities == ["fyp15"]


def test_gone_document_stays_counted(corpus, db_session):
    doc = corpus.docs["D2"]
    store.touch_document(db_session, doc.id, fetched_at=corpus.now, gone=True)
    db_session.execute(text("UPDATE document SET gone_at = :t WHERE id = :d"),
                       {"t": corpus.now, "d": doc.id})
    assert _queued(db_session) == []  # gone_at is no input of these views
    assert _current(db_session) == ZERO
    assert db_session.execute(text("SELECT count(*) FROM document_entities WHERE document_id = :d"),
                              {"d": doc.id}).scalar_one() == 4


def test_deleted_document_leaves_every_view(corpus, db_session):
    doc = corpus.docs["D1"]
    db_session.execute(text("DELETE FROM snapshot WHERE document_id = :d"), {"d": doc.id})
    db_session.execute(text("DELETE FROM document WHERE id = :d"), {"d": doc.id})
    assert _queued(db_session) == [doc.id]
    assert _current(db_session) == ZERO


def test_source_and_entity_changes_reach_every_row(corpus, db_session):
    db_session.execute(text("UPDATE source SET kind = 'other', language = NULL WHERE id = 1"))
    db_session.execute(text("UPDATE entity SET parent_id = 3 WHERE key = 'hengqin'"))
    assert _queued(db_session) == [1, 3, 4]  # en-commentary's D1, D4; hengqin's D3
    assert _current(db_session) == ZERO


def test_truncate_empties_the_summaries(corpus, db_session):
    db_session.execute(text("TRUNCATE mention"))
    assert _current(db_session) == ZERO
    assert db_session.execute(text("SELECT count(*) FROM document_entities")).scalar_one() == 0
    assert db_session.execute(text("SELECT count(*) FROM mention_daily")).scalar_one() == 0


def test_truncate_of_every_table_at_once_works(corpus, db_session):
    """A reset naming the summaries too (TRUNCATE of every public table, as operators and
    test fixtures do) must not trip over the truncate trigger's own clean-up."""
    tables = db_session.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                     " AND tablename <> 'alembic_version'")).scalars().all()
    assert "analytics_queue" in tables
    db_session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    assert _queued(db_session) == []
    assert _current(db_session) == ZERO


def test_writes_that_change_nothing_queue_nothing(corpus, db_session):
    """What every run does besides storing versions: upsert sources and watch-list, touch
    fetched documents, schedule rechecks, re-extract text."""
    db_session.execute(text("UPDATE source SET name = name || ' ', active = active"))
    db_session.execute(text("UPDATE entity SET parent_id = parent_id, name = name"))
    db_session.execute(text("UPDATE document SET last_fetched_at = now(), next_check_at = now()"))
    db_session.execute(text("UPDATE document_version SET main_text = main_text || ' '"))
    db_session.execute(text("UPDATE mention SET sentence = sentence || ' '"))
    assert _queued(db_session) == []
    before = {t: db_session.execute(text(f"SELECT xmin::text, ctid::text FROM {t} ORDER BY ctid")).all()
              for t in SUMMARIES}
    assert refresh_analytics(db_session) == 0
    after = {t: db_session.execute(text(f"SELECT xmin::text, ctid::text FROM {t} ORDER BY ctid")).all()
             for t in SUMMARIES}
    assert after == before  # no row rewritten


def test_full_rebuild_equals_incremental(corpus, db_session):
    doc = corpus.docs["D4"]
    _add(db_session, doc.id, corpus.now, "Nansha? No: Hengqin.", {"hengqin": "Hengqin"})
    assert refresh_analytics(db_session) == 1
    assert refresh_analytics(db_session, full=True) == len(corpus.docs)
    assert all_differences(db_session) == ZERO


def test_refresh_refuses_a_repeatable_read_snapshot(pg_url):
    engine = create_engine(pg_url, isolation_level="REPEATABLE READ")
    with Session(engine) as session:
        session.execute(text("INSERT INTO analytics_queue (document_id) VALUES (999999)"))
        with pytest.raises(RuntimeError, match="READ COMMITTED"):
            refresh_analytics(session)
        session.rollback()
    engine.dispose()


def test_concurrent_upkeeps_count_once(clean_db):
    """Two writers commit, one upkeeper holds the lock while the other waits for it, and a
    third writer commits in between: the views end equal to the live answers, no row is
    counted twice, the queue is empty."""
    engine = create_engine(clean_db)
    with Session(engine) as session, session.begin():
        corpus = seed(session)
    with Session(engine) as session, session.begin():
        refresh_analytics(session)

    def write(doc: str, body: str, found: dict[str, str], at: dt.datetime) -> None:
        with Session(engine) as session, session.begin():
            _add(session, corpus.docs[doc].id, at, body, found)

    now = corpus.now
    write("D4", "Qianhai, Hengqin and the Greater Bay Area.",
          {"qianhai": "Qianhai", "hengqin": "Hengqin", "gba": "Greater Bay Area"}, now)
    write("D5", "粤港澳大湾区与长三角。", {"gba": "粤港澳大湾区", "yrd": "长三角"}, now)
    first = Session(engine)
    first.begin()
    assert refresh_analytics(first) == 2  # holds the lock until it commits
    second_done = threading.Event()

    def second_upkeep() -> None:
        with Session(engine) as session, session.begin():
            results.append(refresh_analytics(session))
        second_done.set()

    results: list[int] = []
    write("D3", "Yangtze River Delta only.", {"yrd": "Yangtze River Delta"},
          now + dt.timedelta(minutes=1))
    thread = threading.Thread(target=second_upkeep)
    thread.start()
    assert not second_done.wait(0.5)  # waits for the lock
    first.commit()
    first.close()
    thread.join(timeout=60)
    assert second_done.is_set() and results == [1]  # D3 only: D4 and D5 were claimed once
    with Session(engine) as session:
        assert _queued(session) == []
        assert all_differences(session) == ZERO
    engine.dispose()


def test_the_oracle_sees_stale_rows(corpus, db_session):
    """The check above is no tautology: a write not yet upkept, or a summary row lost,
    shows as a difference."""
    doc = corpus.docs["D5"]
    _add(db_session, doc.id, corpus.now, "长三角", {"yrd": "长三角"})
    db_session.execute(text("DELETE FROM analytics_co_mention WHERE entity_a = 'bth'"))
    stale = all_differences(db_session)
    assert stale["document_entities"] > 0 and stale["co_mentions"] > 0
    assert stale["mention_daily"] > 0 and stale["hub_daily"] > 0
    refresh_analytics(db_session, full=True)
    assert all_differences(db_session) == ZERO


def _columns(engine) -> dict[str, list[tuple[str, str]]]:
    """Each maintained view's columns and types, in order (views or materialised views)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = ANY(:v) AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY c.relname, a.attnum"), {"v": list(MAINTAINED_VIEWS)}).all()
    found: dict[str, list[tuple[str, str]]] = {}
    for view, column, kind in rows:
        found.setdefault(view, []).append((column, kind))
    return found


def _rows(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {v: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {v}")).all()), key=repr)
                for v in MAINTAINED_VIEWS}


def test_migration_keeps_columns_rows_and_grants(pg_admin):
    """0010 (materialised views, refreshed) -> 0012 -> 0010 on a seeded database: the same
    columns and types, the same rows, SELECT granted and nothing more, each way."""
    import uuid

    from alembic import command

    from hubwatch.models.db import alembic_config

    name = f"hubwatch_mig_{uuid.uuid4().hex[:10]}"
    url = pg_admin.create_database(name)
    engine = create_engine(url)
    try:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0010")
        with Session(engine) as session, session.begin():
            seed(session)
            for view in MAINTAINED_VIEWS:
                session.execute(text(f"REFRESH MATERIALIZED VIEW {view}"))
        columns, rows = _columns(engine), _rows(engine)
        assert all(rows.values())
        for step in (lambda: command.upgrade(cfg, "0012"), lambda: command.downgrade(cfg, "0010")):
            step()
            assert _columns(engine) == columns
            assert _rows(engine) == rows
            with engine.connect() as conn:
                rights = conn.execute(text(
                    "SELECT bool_and(has_table_privilege('hubwatch_analyst', v, 'SELECT')), "
                    "bool_or(has_table_privilege('hubwatch_analyst', v, 'INSERT, UPDATE, DELETE')) "
                    "FROM unnest(CAST(:v AS text[])) v"), {"v": list(MAINTAINED_VIEWS)}).one()
            assert tuple(rights) == (True, False)
    finally:
        engine.dispose()
        pg_admin.drop_database(name)


def test_cli_refresh_analytics(clean_db):
    from typer.testing import CliRunner

    from hubwatch.cli.main import app

    engine = create_engine(clean_db)
    with Session(engine) as session, session.begin():
        corpus = seed(session)
    engine.dispose()
    said = []
    for args in (["db", "refresh-analytics"], ["db", "refresh-analytics"],
                 ["db", "refresh-analytics", "--full"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        said.append(result.output.strip())
    n = len(corpus.docs)
    assert said == [f"analytics current: {n} document(s) recomputed",
                    "analytics current: 0 document(s) recomputed",
                    f"analytics current: {n} document(s) recomputed"]


def test_real_pages_reimport_queues_nothing(clean_db, shared_dir):
    """The two WARC crawl days of the shared corpus through the real pipeline: day 1,
    day 1 again (nothing new: nothing queued, no upkeep), then day 2 (edits, gone pages):
    the views equal the live answers each time."""
    from sqlalchemy.orm import sessionmaker

    from hubwatch.config.settings import get_settings
    from hubwatch.config.sources import load_sources
    from hubwatch.config.watchlist import load_watchlist
    from hubwatch.pipeline.ingest import Pipeline

    engine = create_engine(clean_db)
    sessions = sessionmaker(engine, expire_on_commit=False)
    settings = get_settings()
    warcs = shared_dir / "corpus" / "warc"
    recomputed = []
    for day in ("day1", "day1", "day2"):
        Pipeline.open(sessions, load_sources(settings.sources_file),
                      load_watchlist(settings.watchlist_file),
                      settings=settings).import_warc(warcs / f"policy-{day}.warc.gz")
        with sessions.begin() as session:
            recomputed.append(refresh_analytics(session))
        with Session(engine) as session:
            assert all_differences(session) == ZERO
    assert recomputed[0] > 0 and recomputed[1] == 0 and recomputed[2] > 0
    engine.dispose()


def test_run_diffs_only_the_queued_documents(corpus, db_session):
    """What a run's close does: sentence diffs for the documents the database queued (no
    scan of every version), the whole corpus only when asked."""
    from hubwatch.models.analytics import queued_documents
    from hubwatch.pipeline.diffs import update_version_diffs

    assert update_version_diffs(db_session, queued_documents(db_session)) == 0
    doc = corpus.docs["D4"]
    _add(db_session, doc.id, corpus.now, "Qianhai, then Hengqin.", {"qianhai": "Qianhai",
                                                                   "hengqin": "Hengqin"})
    db_session.execute(text("UPDATE document_version SET content_hash = 'x' WHERE id = 32"))
    assert queued_documents(db_session) == [corpus.docs["D3"].id, doc.id]  # a re-extraction
    claimed, written = [], []

    def diffs(ids):
        claimed.append(ids)
        written.append(update_version_diffs(db_session, ids))

    refresh_analytics(db_session, on_claimed=diffs)
    assert claimed == [[corpus.docs["D3"].id, doc.id]] and written == [2]
    refresh_analytics(db_session, full=True, on_claimed=diffs)
    assert claimed[-1] is None and written[-1] == 1  # D1's pair: the seed wrote none
