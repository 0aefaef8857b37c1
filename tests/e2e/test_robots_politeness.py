"""Politeness from robots.txt (issue 12 point 6): ``Crawl-delay`` and ``Request-rate`` feed
the per-host gate that all processes share (``host_politeness.site_delay``), so two
processes crawling one host keep the site's delay between *their* requests, as the
site's own request log shows; the robots token follows the configured User-Agent."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from support.prefect_server import REPO
from support.sitegen import SiteServer

from hubwatch.config.settings import FetchSettings
from hubwatch.crawl.fetch import Fetcher
from hubwatch.crawl.robots import RobotsPolicy, parse_robots, robots_token

pytestmark = [pytest.mark.db, pytest.mark.slow]


def _process(site: SiteServer, paths: list[str], db_url: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests"), "DATABASE_URL": db_url}
    return subprocess.Popen([sys.executable, "-m", "support.polite_fetch", "0.2",
                             *[site.url(p) for p in paths]], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("rule, gap", [("Crawl-delay: 2", 2.0), ("Request-rate: 1/2s", 2.0)])
def test_two_processes_keep_the_sites_delay_between_them(pg_url, rule, gap):
    with SiteServer(pages=6, robots_extra=rule) as site:
        paths = [a.path for a in site.articles]
        first = _process(site, paths[:3], pg_url)
        # The second starts once the first has read robots.txt and asked for a page: before
        # anyone has read it, nobody can know the site's delay (it is stored from then on).
        deadline = time.monotonic() + 30
        while not site.requested("/news/") and time.monotonic() < deadline:
            time.sleep(0.05)
        second = _process(site, paths[3:], pg_url)
        for proc in (first, second):
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err[-2000:]
        log = list(site.requests)
    assert len([r for r in log if r.path.startswith("/news/")]) == 6
    assert len([r for r in log if r.path == "/robots.txt"]) == 2  # one per process
    closest = site.min_gap(log)
    print(f"{rule}: {len(log)} requests from two processes, closest gap {closest:.2f} s")
    assert closest >= gap


def test_robots_token_follows_the_configured_user_agent():
    assert robots_token(None) == "hubwatch"
    assert robots_token("Mozilla/5.0 (compatible; PolicyWatch/2.1; +https://example.org)") == "PolicyWatch"
    assert robots_token("acme-crawler/1.0 (+mailto:ops@example.org)") == "acme-crawler"
    assert robots_token("Mozilla/5.0 (X11; Linux x86_64)") == "hubwatch"
    agent = Fetcher(FetchSettings(user_agent="acme-crawler/1.0 (+mailto:ops@example.org)")).robots_agent
    assert agent == "acme-crawler"
    assert Fetcher(FetchSettings(user_agent="acme/1", robots_agent="other")).robots_agent == "other"
    rules = RobotsPolicy("rules", parser=parse_robots(
        b"User-agent: acme-crawler\nDisallow: /x/\nCrawl-delay: 3\n\nUser-agent: *\nDisallow: /\n"))
    assert rules.allows("http://h/y", agent)
    assert not rules.allows("http://h/y", Fetcher(FetchSettings()).robots_agent)
    assert rules.site_delay(agent) == 3.0
