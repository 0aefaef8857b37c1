"""Every example query of docs/analyst.md runs on a seeded database and returns the rows
the seeded corpus implies (expected values derived from tests/analyst_seed.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pytest
from sqlalchemy import text
from support.analyst_seed import SHANGHAI, Corpus, seed

from hubwatch.models.analytics import refresh_analytics
from hubwatch.pipeline.diffs import update_version_diffs

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "analyst.md"
BLOCK = re.compile(r"```sql\n(.*?)```", re.S)
NAME = re.compile(r"--\s*example:\s*(\S+)")

pytestmark = pytest.mark.db


def examples() -> dict[str, str]:
    """Named example queries of the guide (every sql block must carry a name)."""
    found = {}
    for block in BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
        match = NAME.search(block)
        assert match, f"sql block without '-- example: NAME': {block[:60]!r}"
        assert match.group(1) not in found, f"duplicate example {match.group(1)}"
        found[match.group(1)] = block
    return found


@pytest.fixture
def seeded(db_session):
    corpus = seed(db_session)
    update_version_diffs(db_session)  # as every writing flow does before the refresh
    refresh_analytics(db_session)
    return db_session, corpus


def _ids(rows) -> list[int]:
    return [r["document_id"] for r in rows]


def _hubs(c: Corpus, doc: str) -> set[str]:
    return {c.hub_of(e) for e in c.entities(doc)}


def check_weekly_trend(rows, c: Corpus):
    since = c.now.astimezone(SHANGHAI).date() - dt.timedelta(days=84)
    want: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for name, doc in c.docs.items():
        if doc.day < since:
            continue
        week = doc.day - dt.timedelta(days=doc.day.weekday())
        for key, *_ in doc.current.mentions():
            cell = want[(week, c.hub_of(key))]
            cell[1] += 1
        for hub in _hubs(c, name):
            want[(week, hub)][0] += 1
    got = {(r["week"], r["hub"]): [r["documents"], r["mentions"]] for r in rows}
    assert got == dict(want)


def check_newly_fyp15(rows, c: Corpus):
    assert [(r["document_id"], r["how"]) for r in rows] == [
        (c.docs["D2"].id, "new document"), (c.docs["D1"].id, "added by an edit")]


def check_all_three(rows, c: Corpus):
    assert _ids(rows) == [c.docs["D2"].id]


def check_top_sources(rows, c: Corpus):
    assert [(r["hub"], r["source"], r["documents"]) for r in rows] == [
        ("bth", "en-commentary", 1), ("bth", "zh-policy", 1),
        ("fyp15", "en-commentary", 1), ("fyp15", "zh-policy", 1),
        ("gba", "en-commentary", 2), ("gba", "en-policy", 1), ("gba", "zh-policy", 1),
        ("yrd", "en-policy", 1), ("yrd", "zh-policy", 1)]


def check_removed(rows, c: Corpus):
    assert [(r["url"], r["entity"], r["removed"], r["mentions_before"], r["mentions_after"])
            for r in rows] == [(c.docs["D1"].url, "gba", 1, 2, 1)]


def check_hub_with_sub_areas(rows, c: Corpus):
    # gba itself in D1, D2, D4; hengqin in D3; qianhai in D4; the hub as a whole: 4 documents
    assert [(r["entity"], r["documents"]) for r in rows] == [
        ("gba", 3), ("hengqin", 1), ("qianhai", 1), ("gba (all)", 4)]


def check_fulltext(rows, c: Corpus):
    assert sorted(_ids(rows)) == [c.docs["D1"].id, c.docs["D3"].id]
    assert all(r["rank"] > 0 for r in rows)


def check_substring(rows, c: Corpus):
    assert _ids(rows) == [c.docs["D2"].id]


def check_as_of(rows, c: Corpus):
    assert [(r["document_id"], r["version_no"], r["gone_at"]) for r in rows] == [
        (c.docs["D1"].id, 1, None), (c.docs["D3"].id, 1, None), (c.docs["D4"].id, 1, None)]
    assert rows[0]["title"] == c.docs["D1"].versions[0].title


def check_co_mentions(rows, c: Corpus):
    want: dict[tuple[str, str], int] = defaultdict(int)
    for name in c.docs:
        for pair in combinations(sorted(c.entities(name)), 2):
            want[pair] += 1
    assert {(r["entity_a"], r["entity_b"]): r["documents"] for r in rows} == dict(want)
    assert [r["documents"] for r in rows] == sorted((r["documents"] for r in rows), reverse=True)


def check_changes_last_week(rows, c: Corpus):
    want = {(c.docs["D1"].url, "fyp15", 1, 0), (c.docs["D1"].url, "gba", 0, 1)}
    d3 = c.docs["D3"]
    if d3.current.valid_from >= c.now - dt.timedelta(days=7):
        want.add((d3.url, "hengqin", 1, 0))
    assert {(r["url"], r["entity"], r["added"], r["removed"]) for r in rows} == want


def check_title_changes(rows, c: Corpus):
    old, new = c.docs["D1"].versions
    added = sum(len(p) for p in new.text.split("\n\n") if p not in old.text.split("\n\n"))
    removed = sum(len(p) for p in old.text.split("\n\n") if p not in new.text.split("\n\n"))
    assert [(r["url"], r["previous_title"], r["title"], r["chars_added"], r["chars_removed"])
            for r in rows] == [(c.docs["D1"].url, old.title, new.title, added, removed)]


def check_fyp15_share(rows, c: Corpus):
    assert [(r["day"], r["source"], r["documents"], r["all_documents"], float(r["share"]))
            for r in rows] == [(c.docs["D1"].day, "en-commentary", 1, 1, 1.0),
                               (c.docs["D2"].day, "zh-policy", 1, 2, 0.5)]


def check_sources_attention(rows, c: Corpus):
    assert [(r["source"], r["consecutive_failures"], r["last_success_at"] is None,
             r["last_run_pages"], r["last_run_without_date"]) for r in rows] == [
        ("en-policy", 2, True, 1, 0), ("zh-policy", 0, False, 2, 1)]


def check_policy_reposts(rows, c: Corpus):
    # D2 and D5 carry 国办发〔2026〕7号; D3's number was only in its earlier version
    assert [(r["document_number"], r["documents"], r["urls"]) for r in rows] == [
        ("国办发〔2026〕7号", 2, [c.docs["D2"].url, c.docs["D5"].url])]


def check_policy_issuer_hubs(rows, c: Corpus):
    assert [(r["document_id"], r["hub"]) for r in rows] == [
        (c.docs["D2"].id, hub) for hub in sorted(_hubs(c, "D2"))]
    assert all(r["bodies"] == 2 and r["written_on"] == dt.date(2026, 11, 20) for r in rows)


def check_attachments(rows, c: Corpus):
    d6 = c.docs["D6"]
    assert [(r["document_number"], r["parent_url"], r["url"], r["file_type"], r["page_count"])
            for r in rows] == [("国办发〔2026〕7号", c.docs["D2"].url, d6.url, "pdf", 3)]


def check_sentences_changed(rows, c: Corpus):
    # D1 was edited two days ago (D3's edit of 10 November is older than a week, unless
    # the suite runs within a week of it): its second paragraph lost a sentence, and a
    # paragraph naming the plan was added.
    week_ago = c.now - dt.timedelta(days=7)
    edits = {name: doc for name, doc in c.docs.items()
             if len(doc.versions) > 1 and doc.current.valid_from >= week_ago}
    assert [r["url"] for r in rows] == [d.url for d in sorted(
        edits.values(), key=lambda d: (-d.current.valid_from.timestamp(), d.url))]
    got = {r["url"]: (r["sentences_added"], r["sentences_removed"]) for r in rows}
    assert got[c.docs["D1"].url] == (["The 15th Five-Year Plan will help innovation hubs."],
                                     ["The Greater Bay Area grows."])
    if "D3" in edits:
        assert got[c.docs["D3"].url] == (["Hengqin joins innovation hubs."], [])


def check_added_fyp15(rows, c: Corpus):
    # Only D1's edit added a sentence naming the plan (D2 names it from its first version).
    assert [(r["url"], r["sentence"]) for r in rows] == [
        (c.docs["D1"].url, "The 15th Five-Year Plan will help innovation hubs.")]


CHECKS = {
    "weekly-trend-per-hub": check_weekly_trend,
    "newly-mention-fyp15": check_newly_fyp15,
    "all-three-hubs": check_all_three,
    "top-sources-per-hub": check_top_sources,
    "mentions-removed-by-edits": check_removed,
    "hub-with-sub-areas": check_hub_with_sub_areas,
    "fulltext-english": check_fulltext,
    "substring-chinese": check_substring,
    "corpus-as-of": check_as_of,
    "co-mentions": check_co_mentions,
    "mention-changes-last-week": check_changes_last_week,
    "title-changes": check_title_changes,
    "sentences-changed-last-week": check_sentences_changed,
    "added-sentences-naming-fyp15": check_added_fyp15,
    "fyp15-share-by-day": check_fyp15_share,
    "sources-needing-attention": check_sources_attention,
    "policy-reposts-by-number": check_policy_reposts,
    "policy-issuer-hubs": check_policy_issuer_hubs,
    "attachments-of-policy-documents": check_attachments,
}


def test_every_example_has_a_check_and_the_issue_topics_are_covered():
    names = set(examples())
    assert names == set(CHECKS)
    assert len(names) >= 8


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_query_result(seeded, name):
    session, corpus = seeded
    rows = session.execute(text(examples()[name])).mappings().all()
    CHECKS[name](rows, corpus)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_runs_as_analyst(seeded, name):
    """The analyst role can run every example (views and documents_as_of only)."""
    session, _ = seeded
    session.execute(text("SET LOCAL ROLE hubwatch_analyst"))
    try:
        session.execute(text(examples()[name])).all()
    finally:
        session.execute(text("RESET ROLE"))
