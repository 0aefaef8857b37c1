"""One crawl over the whole fault site, in its own process, into a real PostgreSQL.

It must finish, store all ten articles, record every fault with its outcome and
reason, never request the disallowed path or the internal port, never store what an
XXE would have read, and stay under 500 MB peak RSS (measured from outside).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from support.faultserver import ARTICLES, CRAWL_FAULTS, FaultServer

pytestmark = [pytest.mark.db, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
FEEDS = [f.path for f in CRAWL_FAULTS if f.path.endswith(".xml")]
SAFETY_SECONDS = 300  # the bound for one crawl
BROKEN_FEED = "/fault/broken-feed.xml"


def _sources(site: FaultServer, path: Path) -> Path:
    feeds = "".join(f"      - type: feed\n        url: {site.url(p)}\n" for p in ["/feed.xml", *FEEDS])
    path.write_text(
        f"sources:\n  - slug: faultsite\n    name: Fault site\n    kind: commentary\n    language: en\n"
        f"    allowed_hosts: ['{site.host}']\n    delay_seconds: 0\n    max_pages: 100\n"
        f"    exclude: ['\\.xml$', '429-long']\n    discovery:\n{feeds}"
        f"      - type: listing\n        url: {site.url('/index.html')}\n        selector: 'ul.list a'\n",
        encoding="utf-8")
    return path


def _crawl(sources: Path, db_url: str) -> tuple[dict, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests"), "DATABASE_URL": db_url}
    proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "support.crawl_faults",
                           str(sources)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=SAFETY_SECONDS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return json.loads(proc.stdout.strip().splitlines()[-1]), kb / 1024


@dataclass
class Crawl:
    counts: dict
    peak_mb: float
    outcomes: dict[str, list[tuple[str, str | None]]]  # path -> [(outcome, error)]
    stored: set[str]  # requested URLs whose snapshot made a version
    leaked: int  # rows holding the XXE secret
    site: FaultServer


@pytest.fixture(scope="module")
def crawl(pg_url, tmp_path_factory) -> Iterator[Crawl]:
    if not Path("/usr/bin/time").exists():
        pytest.skip("needs /usr/bin/time to measure peak RSS from outside")
    FaultServer.warm()
    with FaultServer() as site:
        counts, peak_mb = _crawl(_sources(site, tmp_path_factory.mktemp("crawl") / "sources.yaml"), pg_url)
    print(f"\ncrawl counts: {counts}\npeak RSS of the crawling process: {peak_mb:.0f} MB")
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        snaps = conn.execute(text("SELECT requested_url, outcome, error_message FROM snapshot")).all()
        stored = {u for (u,) in conn.execute(text(
            "SELECT s.requested_url FROM snapshot s JOIN document_version v ON v.id = s.version_id"))}
        leaked = conn.execute(text(
            "SELECT (SELECT count(*) FROM document_version WHERE strpos(main_text || title, :m) > 0"
            " OR position(convert_to(:m, 'UTF8') in raw_body) > 0)"
            " + (SELECT count(*) FROM snapshot WHERE strpos(coalesce(error_message, ''), :m) > 0)"),
            {"m": site.secret_marker}).scalar()
    outcomes: dict[str, list] = {}
    for url, outcome, error in snaps:
        outcomes.setdefault(url.split(site.host, 1)[-1], []).append((outcome, error))
    yield Crawl(counts, peak_mb, outcomes, stored, leaked, site)
    with engine.begin() as conn:  # leave the shared test database empty for the next module
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                   " AND tablename <> 'alembic_version'")).scalars().all()
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def test_all_ten_articles_stored(crawl):
    assert {crawl.site.url(p) for p in ARTICLES} <= crawl.stored


def test_never_requested_disallowed_or_internal(crawl):
    assert crawl.site.requested("/private/") == [] and crawl.site.internal_log == []


def test_every_fault_recorded_with_its_outcome_and_reason(crawl):
    wrong = {f.path: crawl.outcomes.get(f.path) for f in CRAWL_FAULTS
             if f.path != BROKEN_FEED and f.crawl_outcome not in [o for o, _ in crawl.outcomes.get(f.path, [])]}
    assert wrong == {}
    unexplained = [(u, o) for u, got in crawl.outcomes.items() for o, e in got if o != "ok" and not e]
    assert unexplained == []


def test_broken_feed_recorded_as_bad_feed(crawl):
    assert "bad_feed" in [o for o, _ in crawl.outcomes.get(BROKEN_FEED, [])]


def test_xxe_contents_never_stored(crawl):
    assert crawl.leaked == 0


def test_crawling_process_under_500_mb(crawl):
    assert crawl.peak_mb < 500
