"""Every fault of the local fault server, fetched: its outcome, its reason, its bound.

Bounds asserted here are generous safety limits against hangs, not speed targets.
"""

from __future__ import annotations

import pytest
from support.faultserver import ARTICLES, FAULTS, FaultServer, article_html, closed_port

from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.outcomes import Outcome

SETTINGS = FetchSettings(connect_timeout=1, read_timeout=1.5, total_deadline=2.5, max_bytes=4 * 1024 * 1024,
                         retries=2, backoff_base=0.05, backoff_cap=0.2, max_retry_wait=5,
                         breaker_threshold=50, host_delay=0)
SAFETY_SECONDS = 30


@pytest.fixture(scope="module")
def site():
    FaultServer.warm()
    with FaultServer() as server:
        yield server


def _expect(path: str) -> str:
    return "feed" if path.endswith(".xml") else "page"


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.path)
def test_each_fault_gives_its_outcome_and_reason(site, fault):
    with Fetcher(SETTINGS) as f:  # a fresh Fetcher: host pauses and breakers do not carry over
        r = f.fetch(site.url(fault.path), allowed_hosts={site.host}, expect=_expect(fault.path))
    assert r.outcome == fault.fetch_outcome, r.error
    if r.outcome != Outcome.OK:
        assert r.error and len(r.error) > 10  # a human-readable reason
    assert r.elapsed_seconds < SAFETY_SECONDS
    assert len(r.body) <= SETTINGS.max_bytes
    assert r.fetched_at.tzinfo is not None


def test_normal_articles_among_faults(site):
    with Fetcher(SETTINGS) as f:
        results = [f.fetch(site.url(p), allowed_hosts={site.host}) for p in ARTICLES]
    assert [r.outcome for r in results] == [Outcome.OK] * 10
    assert [r.body for r in results] == [article_html(n) for n in range(1, 11)]
    assert all(r.etag and r.last_modified for r in results)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_compression_bombs_stop_at_the_cap(site, coding):
    with Fetcher(SETTINGS) as f:
        r = f.fetch(site.url(f"/fault/bomb-{coding}"), allowed_hosts={site.host})
    assert r.outcome == Outcome.TOO_LARGE and "after decompression" in r.error
    assert str(SETTINGS.max_bytes) in r.error and r.body == b""  # nothing kept past the cap


@pytest.mark.parametrize("path", ["/fault/drip", "/fault/drip-headers", "/fault/hang"])
def test_slow_servers_end_within_their_bound(site, path):
    with Fetcher(SETTINGS) as f:
        r = f.fetch(site.url(path), allowed_hosts={site.host})
    assert r.outcome == Outcome.TIMEOUT and "whole page" in r.error
    # the drip never lets a single read time out: only the total deadline can stop it
    assert r.elapsed_seconds < SETTINGS.total_deadline + 5
    assert r.attempts == 1  # timeouts are not retried: a hang must not cost N times its bound


def test_disallowed_path_never_requested():
    with FaultServer() as site, Fetcher(SETTINGS) as f:
        direct = f.fetch(site.url("/private/report.html"), allowed_hosts={site.host})
        via_redirect = f.fetch(site.url("/fault/to-private"), allowed_hosts={site.host})
        ok = f.fetch(site.url("/articles/1.html"), allowed_hosts={site.host})
        assert site.requested("/private/") == []
        assert len(site.requested("/robots.txt")) == 1
    assert direct.outcome == via_redirect.outcome == Outcome.ROBOTS and ok.outcome == Outcome.OK
    assert via_redirect.redirects == [site.url("/fault/to-private")]


def test_internal_service_receives_no_request():
    with FaultServer() as site, Fetcher(SETTINGS) as f:
        r = f.fetch(site.url("/fault/to-internal"), allowed_hosts={site.host})
        assert site.internal_log == []
    assert r.outcome == Outcome.BLOCKED_REDIRECT and site.internal_host in r.error


def test_retry_after_seconds_and_date_are_waited(site):
    with Fetcher(SETTINGS) as f:
        for path in ("/fault/429-seconds?t=wait", "/fault/429-date?t=wait"):
            r = f.fetch(site.url(path), allowed_hosts={site.host})
            first, second = site.requested(path)
            assert r.outcome == Outcome.OK and r.attempts == 2
            assert second.at - first.at >= 0.9, f"{path}: retried before Retry-After elapsed"


def test_long_retry_after_defers_and_pauses_the_host():
    with FaultServer() as site, Fetcher(SETTINGS) as f:
        r = f.fetch(site.url("/fault/429-long"), allowed_hosts={site.host})
        later = f.fetch(site.url("/articles/2.html"), allowed_hosts={site.host})
        assert site.requested("/articles/") == []
    assert r.outcome == Outcome.DEFERRED and "86400" in r.error and r.retry_at is not None
    assert later.outcome == Outcome.DEFERRED and later.attempts == 0


def test_resets_open_the_breaker_http_errors_do_not():
    settings = SETTINGS.model_copy(update={"breaker_threshold": 2, "retries": 1})
    with FaultServer() as site, Fetcher(settings) as f:
        for n in range(3):
            assert f.fetch(site.url(f"/fault/500?n={n}"), allowed_hosts={site.host}).outcome == Outcome.HTTP_ERROR
        reset = f.fetch(site.url("/fault/reset"), allowed_hosts={site.host})
        skipped = f.fetch(site.url("/articles/1.html"), allowed_hosts={site.host})
        assert site.requested("/articles/") == []
    assert reset.outcome == Outcome.NETWORK_ERROR and reset.attempts == 2
    assert skipped.outcome == Outcome.HOST_SKIPPED and "connection failures" in skipped.error


def test_refused_connections_open_the_breaker():
    host = f"127.0.0.1:{closed_port()}"
    settings = SETTINGS.model_copy(update={"breaker_threshold": 3, "retries": 0})
    with Fetcher(settings) as f:
        results = [f.fetch(f"http://{host}/p{n}", allowed_hosts={host}, check_robots=False) for n in range(5)]
    assert [r.outcome for r in results] == [Outcome.NETWORK_ERROR] * 3 + [Outcome.HOST_SKIPPED] * 2
    assert "ConnectError" in results[0].error


def test_nested_page_is_fetched_whole_and_refused_by_the_parser(site):
    from hubwatch.text.extract import ExtractError, parse_page

    with Fetcher(SETTINGS) as f:
        r = f.fetch(site.url("/fault/nested"), allowed_hosts={site.host})
    assert r.outcome == Outcome.OK
    with pytest.raises(ExtractError) as err:
        parse_page(r.body, url=r.final_url, content_type=r.headers.get("content-type"), fetched_at=r.fetched_at)
    assert err.value.outcome == Outcome.PARSE_LIMIT
