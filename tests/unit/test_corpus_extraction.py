"""Extraction on the real pages of ../shared/corpus: zones, quality gate, raw GBK pages."""

from __future__ import annotations

import csv
import importlib.util
import re
import statistics
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hubwatch.text.extract import ExtractError, parse_page, require_text

FETCHED = datetime(2026, 1, 1, tzinfo=UTC)
#: Manifest columns holding each hub's terms, and the names its notes use for them.
TERM_COLUMNS = {"JJJ": "hub_JJJ", "GBA": "hub_GBA", "YRD": "hub_YRD", "FYP": "fyp_terms"}
#: Mean F1 the extractor must keep on corpus and on corpus-news each (issue 11).
F1_GATE = 0.95


def _manifest(shared: Path) -> list[dict]:
    with open(shared / "corpus" / "MANIFEST.tsv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _page(shared: Path, row: dict):
    body = (shared / "corpus" / row["file"]).read_bytes()
    return parse_page(body, url=row["original_url"] or None, content_type=None, fetched_at=FETCHED)


def _terms(row: dict, hub: str) -> list[str]:
    return [t for t in row[TERM_COLUMNS[hub]].split(",") if t.strip()]


def _zone_rows(shared: Path) -> list[dict]:
    return [r for r in _manifest(shared)
            if r["mentions_hub_or_fyp"] == "yes" and r["hub_or_fyp_in_gold"].startswith("no")]


def test_hub_names_only_in_navigation_never_reach_the_main_text(shared_dir):
    rows = _zone_rows(shared_dir)
    assert len(rows) >= 8
    for row in rows:
        page = _page(shared_dir, row)
        in_main = set(re.findall(r"(JJJ|GBA|YRD|FYP) in main text", row["hub_or_fyp_in_gold"]))
        for hub in TERM_COLUMNS:
            pattern = "|".join(map(re.escape, _terms(row, hub)))
            if not pattern:
                continue
            found = re.search(pattern, page.title + page.text)
            if hub in in_main:
                assert found, f"{row['file']}: {hub} belongs to the main text"
            else:
                assert not found, f"{row['file']}: {hub} term {found and found.group()} from boilerplate"


def test_hub_names_in_gold_are_kept(shared_dir):
    for row in _manifest(shared_dir):
        if row["hub_or_fyp_in_gold"].startswith("yes"):
            page = _page(shared_dir, row)
            terms = [t for hub in TERM_COLUMNS for t in _terms(row, hub)]
            assert any(t in page.title + page.text for t in terms), row["file"]


def test_pages_decode_without_new_replacement_characters(shared_dir):
    for row in _manifest(shared_dir):
        if not row["file"].endswith(".html"):
            continue
        raw = (shared_dir / "corpus" / row["file"]).read_bytes()
        try:
            page = _page(shared_dir, row)
        except ExtractError:
            continue
        assert (page.title + page.text).count("\ufffd") <= raw.count("\ufffd".encode()), row["file"]


def test_raw_gbk_titles_read_as_gb18030(shared_dir):
    folder = shared_dir / "corpus" / "eval" / "cx-netease-gbk"
    for path in sorted(p for p in folder.glob("*.html") if ".gold." not in p.name):
        body = path.read_bytes()
        title = re.search(rb"<title>(.*?)</title>", body, re.DOTALL).group(1).decode("gb18030").strip()
        page = parse_page(body, url=None, content_type="text/html", fetched_at=FETCHED)
        assert page.title and page.title in title, path.name
        assert page.language == "zh"


def _scorer(shared: Path):
    spec = importlib.util.spec_from_file_location("score_text", shared / "corpus" / "score_text.py")
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    return scorer


def _gold_files(shared: Path, corpus: str, scorer) -> set[str]:
    """Pages of ``corpus`` whose MANIFEST.tsv row names a full gold text (the corpus may
    grow): snippet golds, and golds too short for the scorer (under 50 characters), are not."""
    with open(shared / corpus / "MANIFEST.tsv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t")
                if r["gold_file"] and r["file"].endswith(".html") and "snippet" not in r["gold_kind"]]
    return {r["file"] for r in rows
            if len((scorer.load_gold(shared / corpus / r["gold_file"]) or "").strip()) >= 50}


@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["corpus", "corpus-news"])
def test_quality_gate(shared_dir, corpus):
    """The evaluation gate: mean bag-of-tokens F1 over every page with gold text, and no
    page whose text comes out empty (or as no_text) where the gold text is not."""
    scorer = _scorer(shared_dir)
    scores, empty, scored = [], [], set()
    for path, gold, url in scorer.pairs(shared_dir / corpus):
        scored.add(str(path.relative_to(shared_dir / corpus)))
        try:
            text = require_text(parse_page(path.read_bytes(), url=url or None, content_type=None,
                                           fetched_at=FETCHED)).text
        except ExtractError:
            text = ""
        empty += [path.name] if not text.strip() else []
        scores.append(scorer.prf(text, gold)[2])
    assert scored == _gold_files(shared_dir, corpus, scorer) and scored
    assert not empty
    assert statistics.mean(scores) >= F1_GATE
