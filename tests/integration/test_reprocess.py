"""``reprocess`` after a watch-list edit changes exactly the affected mentions, and a
second reprocess with no change writes no mention."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from hubwatch.config.settings import CONFIG_DIR, get_settings
from hubwatch.config.sources import load_sources
from hubwatch.config.watchlist import load_watchlist
from hubwatch.mentions.match import Matcher
from hubwatch.pipeline.ingest import Pipeline
from hubwatch.pipeline.reprocess import reprocess_versions

pytestmark = pytest.mark.db
NEW_ALIAS = "国际科技创新中心"  # made an entity of its own for this test


@pytest.fixture
def loaded(clean_db, shared_dir):
    engine = create_engine(clean_db)
    sessions = sessionmaker(engine, expire_on_commit=False)
    sources = load_sources(get_settings().sources_file)
    original = load_watchlist(CONFIG_DIR / "watchlist.yaml")
    pipeline = Pipeline.open(sessions, sources, original)
    for day in (1, 2):
        pipeline.import_warc(shared_dir / f"corpus/warc/policy-day{day}.warc.gz")
    yield engine, sessions, sources
    engine.dispose()


def _edited_watchlist(tmp_path):
    data = yaml.safe_load((CONFIG_DIR / "watchlist.yaml").read_text(encoding="utf-8"))
    for entity in data["entities"]:
        if entity["key"] == "nansha":
            entity["aliases"]["zh_hans"].remove("广州南沙")  # remove an alias (both scripts)
            entity["aliases"]["zh_hant"].remove("廣州南沙")
    data["entities"].append({"key": "sci_centre", "name": "International S&T innovation centre",
                             "aliases": {"zh_hans": [NEW_ALIAS]}})  # add one
    path = tmp_path / "watchlist.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_watchlist(path)


def _mentions(engine) -> set[tuple]:
    with engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT m.version_id, e.key, m.zone, m.start_offset, m.end_offset, m.surface "
            "FROM mention m JOIN entity e ON e.id = m.entity_id")).all())


def _texts(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT id, title, main_text FROM document_version")).all()


def test_reprocess_changes_exactly_the_affected_mentions(loaded, tmp_path):
    engine, sessions, sources = loaded
    before = _mentions(engine)
    assert before, "the corpus mentions the hubs"
    edited = _edited_watchlist(tmp_path)
    report = reprocess_versions(sessions, Pipeline.open(sessions, sources, edited))
    after = _mentions(engine)

    added, removed = after - before, before - after
    expected_new = sum(t.count(NEW_ALIAS) + title.count(NEW_ALIAS) for _, title, t in _texts(engine))
    assert expected_new > 0
    assert {m[1] for m in added} == {"sci_centre"} and len(added) == expected_new
    assert removed and all(m[1] == "nansha" and re.sub(r"\s", "", m[5]) == "广州南沙"
                           for m in removed)
    assert dict(report.added) == {"sci_centre": len(added)}
    assert dict(report.removed) == {"nansha": len(removed)}

    with engine.connect() as conn:
        revisions = conn.execute(text("SELECT DISTINCT watchlist_revision FROM version_match")).all()
        max_id = conn.execute(text("SELECT max(id) FROM mention")).scalar()
    assert revisions == [(Matcher(edited).revision,)]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM version_match")).scalar() == report.versions_seen

    again = reprocess_versions(sessions, Pipeline.open(sessions, sources, edited))
    assert again.versions_rewritten == 0 and not again.added and not again.removed
    assert again.versions_seen == report.versions_seen == 40
    with engine.connect() as conn:
        assert conn.execute(text("SELECT max(id) FROM mention")).scalar() == max_id
    assert _mentions(engine) == after


def test_reextract_keeps_raw_body_and_capture_time(loaded):
    engine, sessions, sources = loaded
    with engine.connect() as conn:
        before = conn.execute(text("SELECT id, md5(raw_body), captured_at, version_no "
                                   "FROM document_version ORDER BY id")).all()
    pipeline = Pipeline.open(sessions, sources, load_watchlist(CONFIG_DIR / "watchlist.yaml"))
    report = reprocess_versions(sessions, pipeline, extract=True)
    assert report.versions_reextracted == len(before) and report.extract_errors == 0
    with engine.connect() as conn:
        after = conn.execute(text("SELECT id, md5(raw_body), captured_at, version_no "
                                  "FROM document_version ORDER BY id")).all()
    assert after == before
    assert report.versions_rewritten == 0  # same extractor: same text, same mentions
