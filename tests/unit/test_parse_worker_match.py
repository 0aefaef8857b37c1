"""Matching in the parse workers (issue 15 point 2): the mentions a worker finds are the
ones the parent's matcher finds, for a parsed page and for a stored text; the watch-list
goes to each worker once per revision."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hubwatch.config.settings import get_settings
from hubwatch.config.watchlist import load_watchlist
from hubwatch.mentions.match import Matcher
from hubwatch.text.extract import parse_page
from hubwatch.text.worker import ParseLimits, ParsePool

FETCHED = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pool():
    pool = ParsePool(ParseLimits(workers=1))
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def matcher():
    return Matcher(load_watchlist(get_settings().watchlist_file))


def _pages(shared_dir: Path, n: int) -> list[Path]:
    """``n`` policy pages of the shared corpus, those naming a hub in their bytes first."""
    found = sorted(p for p in (shared_dir / "corpus" / "policy").rglob("*.html") if ".gold." not in p.name)
    hubs = ("京津冀".encode(), "粤港澳".encode(), "长三角".encode())
    found.sort(key=lambda p: not any(h in p.read_bytes() for h in hubs))
    return found[:n]


def test_worker_mentions_equal_the_parents(pool, matcher, shared_dir):
    watchlist = (matcher.revision, load_watchlist(get_settings().watchlist_file))
    total = 0
    for path in _pages(shared_dir, 6):
        body = path.read_bytes()
        parsed = pool.parse(body, url="https://example.gov.cn/a.html", content_type="text/html",
                            fetched_at=FETCHED, watchlist=watchlist)
        page = parse_page(body, url="https://example.gov.cn/a.html", content_type="text/html",
                          fetched_at=FETCHED)
        assert parsed.mentions == matcher.find(page.title, page.text)
        total += len(parsed.mentions)
    assert total > 0  # the corpus pages do name the hubs
    worker = pool._idle.queue[-1]
    assert worker.revision == matcher.revision  # it keeps its matcher: not sent again


def test_match_job_equals_the_parents(pool, matcher):
    watchlist = (matcher.revision, load_watchlist(get_settings().watchlist_file))
    title, text = "粤港澳大湾区建设", "推进京津冀协同发展和长三角一体化。The Greater Bay Area grows."
    assert pool.match(title, text, watchlist) == matcher.find(title, text)


def test_without_a_watchlist_no_mentions(pool, shared_dir):
    body = _pages(shared_dir, 1)[0].read_bytes()
    parsed = pool.parse(body, url="https://example.gov.cn/a.html", content_type="text/html",
                        fetched_at=FETCHED)
    assert parsed.mentions is None and parsed.page.text
