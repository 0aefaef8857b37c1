"""Why a source fails (issue 12 point 10): ``source_health``'s ``last_error_*`` columns,
the cause lines of ``hubwatch status`` (80 columns), and a host whose name does not
resolve asked once per run, however many of its URLs and retries there are."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from support.sitegen import SiteServer, write_sources
from typer.testing import CliRunner

from hubwatch.cli.main import app

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("prefect_harness")]

# RFC 6761: names under .invalid never resolve, online or off.
OFFLINE = """  - slug: offline-site
    name: Offline Site
    kind: policy
    language: en
    allowed_hosts: ['news.offline.invalid', 'www.offline.invalid']
    delay_seconds: 0
    discovery:
      - type: feed
        url: http://news.offline.invalid/feed.xml
      - type: feed
        url: http://news.offline.invalid/other.xml
      - type: sitemap
        url: http://www.offline.invalid/sitemap.xml
"""


@pytest.fixture
def env(local_crawl):
    # Retries with a real backoff: a retried DNS failure would cost seconds per URL.
    return local_crawl(HUBWATCH_RETRIES="3", HUBWATCH_BACKOFF_BASE="2")


def test_failing_source_says_why_and_unresolved_host_is_asked_once(env):
    from hubwatch.flows.orchestration import nightly

    tmp, engine = env
    with SiteServer(pages=3) as site:
        write_sources(tmp / "sources.yaml", site, extra_sources=OFFLINE)
        started = time.monotonic()
        nightly(max_pages=10)
        elapsed = time.monotonic() - started
    with engine.connect() as conn:
        health = {r.source: r for r in conn.execute(text("SELECT * FROM source_health"))}
        attempts = conn.execute(text(
            "SELECT sn.requested_url, sn.attempts, sn.outcome, sn.error_message FROM snapshot sn "
            "JOIN source s ON s.id = sn.source_id WHERE s.slug = 'offline-site' ORDER BY sn.id")).all()
    # Two host names, each resolved at most once (robots.txt first): no retry, no backoff.
    assert sum(a.attempts for a in attempts) <= 2, attempts
    assert all("cannot resolve" in (a.error_message or "") for a in attempts), attempts
    assert elapsed < 15, f"nightly took {elapsed:.1f} s"

    bad, good = health["offline-site"], health["testsite"]
    assert bad.last_error_outcome in ("robots", "network_error")
    assert "cannot resolve" in bad.last_error_message and "offline.invalid" in bad.last_error_message
    assert bad.last_error_at is not None and bad.last_success_at is None
    assert good.last_success_at is not None
    assert (good.last_error_outcome, good.last_error_message, good.last_error_at) == (None,) * 3

    shown = CliRunner().invoke(app, ["status"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    cause = [line for line in lines if line.startswith("offline-site: ")]
    assert len(cause) == 1 and bad.last_error_outcome in cause[0]
    assert not any(line.startswith("testsite: ") for line in lines)
    cause_text = " ".join(line.strip() for line in lines[lines.index(cause[0]):][:3])
    assert "cannot resolve" in cause_text


def test_view_columns_are_null_for_a_source_that_never_failed(env, db_session):
    db_session.execute(text("INSERT INTO source (slug, name, kind) VALUES ('quiet', 'Q', 'other')"))
    row = db_session.execute(text(
        "SELECT last_error_outcome, last_error_message, last_error_at FROM source_health "
        "WHERE source = 'quiet'")).one()
    assert tuple(row) == (None, None, None)
