"""The recheck schedule (issue 12 point 1) on a local site whose days are simulated by
moving the database's times back a day (support.timetravel): pages that left the feed and
listings are still re-fetched when due, an edit becomes version 2 with its new mentions,
a withdrawn page becomes gone, a per-host budget caps the requests (new pages first), and
an old unchanged site costs a small share of its first crawl (counted in the server log)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from support.sitegen import SiteServer, write_sources
from support.timetravel import shift_days

from hubwatch.config.settings import get_settings

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("prefect_harness")]

EDIT = "The Xiong'an New Area will host the new laboratory."


@pytest.fixture
def env(local_crawl, monkeypatch):
    return (*local_crawl(), monkeypatch)


def _rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def _article_paths(site, since: int) -> list[str]:
    return [r.path for r in site.requests[since:] if r.path.startswith("/news/2")]


def test_unlisted_page_is_rechecked_edit_stored_withdrawal_gone(env):
    from hubwatch.flows.orchestration import nightly

    tmp, engine, _ = env
    with SiteServer(pages=6, feed_items=6, page_size=10) as site:
        write_sources(tmp / "sources.yaml", site, discovery=("feed", "listing"))
        nightly(max_pages=100)  # day 1
        edited, withdrawn = site.articles[0], site.articles[1]  # article 1 is English
        site.unlist(1)
        site.unlist(2)
        shift_days(engine, 1)
        mark = len(site.requests)
        day2 = nightly(max_pages=100)
        assert {edited.path, withdrawn.path} <= set(_article_paths(site, mark))
        assert day2["not_modified"] == 6 and day2["new_versions"] == 0

        site.edit(1, EDIT)
        site.remove(2)
        shift_days(engine, 1)
        mark = len(site.requests)
        day3 = nightly(max_pages=100)
        asked = _article_paths(site, mark)
        assert asked.count(edited.path) == 1 and asked.count(withdrawn.path) == 1
        url, withdrawn_url = site.url(edited.path), site.url(withdrawn.path)
    assert day3["new_versions"] == 1 and day3["gone"] == 1
    versions = _rows(engine, "SELECT v.version_no, v.main_text FROM document_version v "
                             "JOIN document_url u ON u.document_id = v.document_id "
                             "WHERE u.url = :u ORDER BY 1", u=url)
    assert [v.version_no for v in versions] == [1, 2] and EDIT in versions[1].main_text
    changes = _rows(engine, "SELECT entity, added FROM mention_changes WHERE url = :u", u=url)
    assert ("xiongan", 1) in [tuple(c) for c in changes]
    gone = _rows(engine, "SELECT d.gone_at, d.next_check_at FROM document d JOIN document_url u "
                         "ON u.document_id = d.id WHERE u.url = :u", u=withdrawn_url)
    assert gone[0].gone_at is not None and gone[0].next_check_at is None
    # The others stay on the daily schedule of new pages.
    due = _rows(engine, "SELECT next_check_at - last_fetched_at AS gap FROM document "
                        "WHERE gone_at IS NULL")
    assert len(due) == 5
    assert all(dt.timedelta(hours=21) < r.gap <= dt.timedelta(hours=24) for r in due)


def test_budget_caps_rechecks_per_host_after_new_pages(env):
    from hubwatch.flows.orchestration import nightly

    tmp, engine, monkeypatch = env
    monkeypatch.setenv("HUBWATCH_RECHECK_BUDGET_PER_HOST", "5")
    get_settings.cache_clear()
    with SiteServer(pages=10, feed_items=10) as site:
        write_sources(tmp / "sources.yaml", site, discovery=("feed",))
        site.unlist(9)
        site.unlist(10)
        first = nightly(max_pages=100)
        assert first["new_documents"] == 8
        site.relist(9)
        site.relist(10)
        shift_days(engine, 1)
        mark = len(site.requests)
        day2 = nightly(max_pages=100)
        asked = _article_paths(site, mark)
        new_paths = {site.articles[8].path, site.articles[9].path}
        assert len(asked) == 5 and new_paths <= set(asked)  # new pages first, then 3 rechecks
        assert day2["new_documents"] == 2 and day2["rechecked"] == 3
        assert day2["recheck_over_budget"] == 5

        shift_days(engine, 1)
        mark = len(site.requests)
        day3 = nightly(max_pages=100)
        asked3 = _article_paths(site, mark)
    # The five put off yesterday are the most overdue: they come first tonight.
    left_over = {a.path for a in site.articles[:8]} - set(asked)
    assert len(asked3) == 5 and set(asked3) == left_over
    assert day3["rechecked"] == 5


@pytest.mark.slow
def test_unchanged_old_site_costs_a_tenth_of_its_first_crawl(env):
    from hubwatch.flows.orchestration import nightly

    tmp, engine, _ = env
    with SiteServer(pages=1000) as site:
        write_sources(tmp / "sources.yaml", site, discovery=("sitemap",), max_pages=1001)
        first = nightly(max_pages=1001)
        first_pages = len(_article_paths(site, 0))
        assert first_pages == 1000 and first["new_documents"] == 1000
        # Everything first seen and last changed 40 days ago.
        shift_days(engine, 40)
        for night in range(2):
            mark = len(site.requests)
            counts = nightly(max_pages=1001)
            sent = len(site.requests) - mark  # every request the server saw, robots and sitemap too
            print(f"night {night + 1} after 40 days: {sent} requests "
                  f"(first crawl: {first_pages} page requests)")
            assert sent <= first_pages // 10, (night, sent)
            assert counts["not_modified"] == counts["rechecked"] > 0
            shift_days(engine, 1)
    # A recheck of an old unchanged page puts the next one about a month away.
    gaps = _rows(engine, "SELECT next_check_at - last_fetched_at AS gap FROM document "
                         "WHERE last_fetched_at > now() - interval '3 days'")
    assert gaps and all(dt.timedelta(days=26) < r.gap <= dt.timedelta(days=30) for r in gaps)
