"""``reprocess`` after a watch-list edit changes exactly the affected mentions, and a
second reprocess with no change writes no mention; the same for an ambiguous name and its
anchors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from hubwatch.config.loader import ConfigError
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
            entity.pop("ambiguous")  # else bare 南沙 (anchored by 广州) would take its place
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
    # the removed alias and the dropped bare name, nothing else
    assert removed and removed == {m for m in before if m[1] == "nansha"
                                   and re.sub(r"\s", "", m[5]) in ("广州南沙", "南沙")}
    assert any(m[5] == "南沙" for m in removed)
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


BARE = "南沙"


def _watchlist_with(tmp_path, edit) -> Path:
    data = yaml.safe_load((CONFIG_DIR / "watchlist.yaml").read_text(encoding="utf-8"))
    edit(next(e for e in data["entities"] if e["key"] == "nansha"))
    path = tmp_path / "watchlist.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _drop_bare_nansha(entity):
    entity["ambiguous"][0]["aliases"].remove(BARE)


def _bare_occurrences(engine, covered: set[tuple]) -> set[tuple]:
    """Every 南沙 of the stored titles and main texts that no other mention covers, as a
    mention row would hold it (version, zone, start, end, surface)."""
    spans: dict[tuple, list[tuple[int, int]]] = {}
    for version, _key, zone, start, end, _surface in covered:
        spans.setdefault((version, zone), []).append((start, end))
    out = set()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, title, main_text FROM document_version")).all()
    for version, title, main_text in rows:
        for zone, body in (("title", title or ""), ("body", main_text or "")):
            for m in re.finditer(BARE, body):
                if not any(a <= m.start() and m.end() <= b for a, b in spans.get((version, zone), ())):
                    out.add((version, "nansha", zone, m.start(), m.end(), BARE))
    return out


def test_reprocess_adds_and_removes_exactly_the_anchored_bare_names(loaded, tmp_path):
    """Dropping bare 南沙 from its ambiguous group removes exactly its mentions; putting it
    back adds exactly them again; the corpus page that holds them is a Guangzhou page."""
    engine, sessions, sources = loaded
    before = _mentions(engine)  # the shipped watch-list: bare 南沙 counted where anchored
    without = load_watchlist(_watchlist_with(tmp_path, _drop_bare_nansha))
    report = reprocess_versions(sessions, Pipeline.open(sessions, sources, without))
    after = _mentions(engine)
    removed = before - after
    assert after <= before and removed, "bare 南沙 occurs in the corpus (gne__thepaper_4)"
    assert removed == _bare_occurrences(engine, after)
    assert dict(report.removed) == {"nansha": len(removed)} and not report.added
    with engine.connect() as conn:
        holders = conn.execute(text(
            "SELECT DISTINCT v.title || ' ' || v.main_text FROM document_version v "
            "WHERE v.id = ANY(:ids)"), {"ids": sorted({m[0] for m in removed})}).scalars().all()
    assert holders and all("广州" in t and "南沙群岛" not in t for t in holders)  # anchored, no veto

    shipped = load_watchlist(CONFIG_DIR / "watchlist.yaml")
    again = reprocess_versions(sessions, Pipeline.open(sessions, sources, shipped))
    assert _mentions(engine) == before
    assert dict(again.added) == {"nansha": len(removed)} and not again.removed


def test_reprocess_never_runs_with_an_unanchored_ambiguous_alias(tmp_path):
    """Validation rejects an ambiguous alias without anchors before any matching."""
    def strip_anchors(entity):
        entity["ambiguous"][0].pop("anchors")
        entity["ambiguous"][0].pop("anchor_entities")

    with pytest.raises(ConfigError, match="has no anchors") as info:
        load_watchlist(_watchlist_with(tmp_path, strip_anchors))
    assert info.value.key.startswith("entities.") and info.value.key.endswith(".ambiguous.0")
    assert info.value.line > 0
