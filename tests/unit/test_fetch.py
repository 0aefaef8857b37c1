"""flows.fetch: redirects, retries, Retry-After, robots.txt, conditional GET, bounds.

Servers are ``httpx.MockTransport`` (the transport seam) or the local fault server;
cases 17 and 26 come from ../shared/cases.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import httpx
import pytest
from support.faultserver import FaultServer, article_html

from hubwatch.crawl.bounded import sniff_binary
from hubwatch.crawl.fetch import Fetcher, FetchSettings, host_key, parse_retry_after
from hubwatch.crawl.netguard import is_internal
from hubwatch.crawl.robots import ROBOTS_MAX_BYTES, parse_robots
from hubwatch.outcomes import Outcome

FAST = FetchSettings(connect_timeout=1, read_timeout=2, total_deadline=3, retries=2, backoff_base=0.02,
                     backoff_cap=0.1, max_retry_wait=5, host_delay=0, breaker_threshold=3)
SITE = "site.example"


def stream(body: bytes) -> httpx.SyncByteStream:
    """A streaming body, as a real transport gives (httpx reads ``content=`` eagerly)."""

    class _S(httpx.SyncByteStream):
        def __iter__(self):
            yield body

    out = _S()
    out.body = body
    return out


class Recorder:
    """A MockTransport handler from a dict path -> list of responses (the last one repeats)."""

    def __init__(self, routes: dict[str, list[httpx.Response]]) -> None:
        self.routes, self.seen = routes, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.raw_path.decode(), dict(request.headers), time.monotonic()))
        key = request.url.raw_path.decode()
        queue = self.routes.get(key) or self.routes.get(request.url.path)
        if not queue:
            return httpx.Response(404)
        r = queue.pop(0) if len(queue) > 1 else queue[0]
        # A fresh copy each time: a response's stream can be read only once.
        return httpx.Response(r.status_code, headers=r.headers, stream=stream(getattr(r.stream, "body", b"")))

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.seen]


def fetcher(routes, settings=FAST, **kw) -> tuple[Fetcher, Recorder]:
    rec = Recorder(routes)
    return Fetcher(settings, transport=httpx.MockTransport(rec), **kw), rec


def html(body: bytes = b"<html><title>t</title></html>", **headers) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/html; charset=utf-8", **headers},
                          stream=stream(body))


# -- Retry-After (RFC 9110 §10.2.3) and case 26 -------------------------------------------------

def test_parse_retry_after_both_forms():
    now = datetime(2025, 6, 18, 2, 0, 1, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Wed, 18 Jun 2025 02:02:00 GMT", now) == 119  # IMF-fixdate
    assert parse_retry_after("Wednesday, 18-Jun-25 02:02:00 GMT", now) == 119  # obsolete RFC 850
    assert parse_retry_after("Wed Jun 18 02:02:00 2025", now) == 119  # obsolete asctime
    assert parse_retry_after("Wed, 18 Jun 2025 01:00:00 GMT", now) == 0  # in the past
    for junk in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(junk, now) is None


def test_case26_waits_from_transcript(shared_dir):
    case = shared_dir / "cases" / "26-http-429-retry-after"
    transcript = json.loads((case / "transcript.json").read_text())
    expected = json.loads((case / "expected.json").read_text())
    cap = expected["context"]["max_inline_wait_seconds"]
    for decision in expected["expected"]["decisions"]:
        first = next(e for e in transcript if e["url"] == decision["url"])
        at = datetime.fromisoformat(first["t"].replace("Z", "+00:00"))
        wait = parse_retry_after(dict(first["headers"]).get("Retry-After"), at)
        if "wait_seconds" in decision:
            assert wait == decision["wait_seconds"] and wait <= cap
        elif "host_paused_until" in decision:
            assert wait > cap
            until = datetime.fromisoformat(decision["host_paused_until"].replace("Z", "+00:00"))
            assert at + timedelta(seconds=wait) == until
        else:
            assert wait is None  # unparseable: default backoff applies


def _rebased(entry: dict) -> httpx.Response:
    """A transcript response with its wait shrunk to test scale: waits within the cap
    become 1 s (seconds form) or an HTTP-date 2 s ahead; longer ones stay as they are."""
    headers = dict(entry["headers"])
    value = headers.get("Retry-After")
    if value is not None:
        at = datetime.fromisoformat(entry["t"].replace("Z", "+00:00"))
        wait = parse_retry_after(value, at)
        if wait is not None and wait <= 300:
            headers["Retry-After"] = "1" if value.isdigit() else formatdate(time.time() + 2, usegmt=True)
    return httpx.Response(entry["status"], headers=headers, stream=stream(b"<html><title>ok</title></html>"))


def test_case26_replayed_through_fetcher(shared_dir):
    transcript = json.loads((shared_dir / "cases" / "26-http-429-retry-after" / "transcript.json").read_text())
    routes: dict[str, list] = {}
    for entry in transcript:
        routes.setdefault(entry["url"], []).append(entry)
    seen: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        seen.append((url, time.monotonic()))
        queue = routes.get(url)
        if queue is None:
            return httpx.Response(404)  # robots.txt: no restrictions
        return _rebased(queue.pop(0) if len(queue) > 1 else queue[0])  # dates made when served

    urls = list(dict.fromkeys(e["url"] for e in transcript))
    hosts = {host_key(u) for u in urls}
    with Fetcher(FAST.model_copy(update={"max_retry_wait": 300}), transport=httpx.MockTransport(handler)) as f:
        results = [f.fetch(u, allowed_hosts=hosts) for u in urls]
    by_url = {r.url: r for r in results}
    for url in urls[:2]:  # waits within the cap: retried once, after the wait
        r = by_url[url]
        assert (r.outcome, r.attempts, r.status) == (Outcome.OK, 2, 200)
        times = [t for u, t in seen if u == url]
        assert times[1] - times[0] >= 0.9, "retried before Retry-After elapsed"
    deferred = by_url[urls[2]]
    assert deferred.outcome == Outcome.DEFERRED and "86400" in deferred.error
    assert deferred.retry_at is not None and deferred.retry_at > datetime.now(UTC) + timedelta(hours=23)
    paused = by_url[urls[3]]  # same host, while paused: not requested at all
    assert paused.outcome == Outcome.DEFERRED and paused.attempts == 0
    assert urls[3] not in [u for u, _ in seen]


def test_unparseable_retry_after_falls_back_to_backoff():
    f, rec = fetcher({"/robots.txt": [httpx.Response(404)],
                      "/a": [httpx.Response(429, headers={"retry-after": "soon"}), html()]})
    with f:
        r = f.fetch(f"http://{SITE}/a", allowed_hosts={SITE})
    assert (r.outcome, r.attempts) == (Outcome.OK, 2)


def test_5xx_retried_then_http_error_with_attempts():
    f, rec = fetcher({"/robots.txt": [httpx.Response(404)], "/a": [httpx.Response(502)]})
    with f:
        r = f.fetch(f"http://{SITE}/a", allowed_hosts={SITE})
    assert (r.outcome, r.status, r.attempts) == (Outcome.HTTP_ERROR, 502, FAST.retries + 1)
    assert "502" in r.error and rec.paths().count("/a") == FAST.retries + 1


# -- robots.txt (RFC 9309) and case 17 ---------------------------------------------------------------

def test_case17_bom_does_not_hide_first_group(shared_dir):
    case = shared_dir / "cases" / "17-robots-bom"
    expected = json.loads((case / "expected.json").read_text())
    body = (case / "robots.txt").read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    rules = parse_robots(body)
    agent = expected["context"]["user_agent"]
    for check in expected["expected"]["can_fetch"]:
        assert rules.can_fetch(check["url"], agent) == check["allowed"], check["url"]
    assert rules.crawl_delay(agent) == expected["expected"]["crawl_delay_seconds"]
    assert list(rules.sitemaps) == expected["expected"]["sitemaps"]


@pytest.mark.parametrize("body", [
    b"\xef\xbb\xbfUser-agent: hubwatch\nDisallow: /x/\n",  # BOM, LF, our own group
    b"\xef\xbb\xbfuser-agent: *\r\ndisallow: /x/\r\n",  # BOM, CRLF, lower-case keys
    b"\xef\xbb\xbf# comment first\nUser-agent: *\nDisallow: /x/\n",  # BOM before a comment
    b"User-agent: *\nDisallow: /x/\n",  # no BOM
])
def test_robots_bom_class(body):
    rules = parse_robots(body)
    assert not rules.can_fetch("http://h.example/x/page.html", "hubwatch")
    assert rules.can_fetch("http://h.example/y/page.html", "hubwatch")


@pytest.mark.parametrize("status,allowed", [(404, True), (410, True), (401, True), (403, True),
                                            (500, False), (503, False), (429, False)])
def test_robots_status_rules(status, allowed):
    f, rec = fetcher({"/robots.txt": [httpx.Response(status)], "/page": [html()]})
    with f:
        r = f.fetch(f"http://{SITE}/page", allowed_hosts={SITE})
    if allowed:  # 4xx: "unavailable", no restrictions (RFC 9309 §2.3.1.3)
        assert r.outcome == Outcome.OK and "/page" in rec.paths()
    else:  # 5xx/429: "unreachable", the host is not crawled this run (§2.3.1.4)
        assert r.outcome == Outcome.ROBOTS and "unreachable" in r.error
        assert "/page" not in rec.paths()


def test_robots_unreachable_host_is_not_crawled():
    f, rec = fetcher({})  # nothing answers at all: every request fails to connect

    def refuse(request):
        rec.seen.append((request.url.path, {}, 0))
        raise httpx.ConnectError("refused", request=request)

    f = Fetcher(FAST.model_copy(update={"breaker_threshold": 100}), transport=httpx.MockTransport(refuse))
    with f:
        first = f.fetch(f"http://{SITE}/a", allowed_hosts={SITE})
        second = f.fetch(f"http://{SITE}/b", allowed_hosts={SITE})
    assert first.outcome == second.outcome == Outcome.ROBOTS
    assert "robots.txt unreachable" in first.error and "ConnectError" in first.error
    assert set(rec.paths()) == {"/robots.txt"}  # robots tried (with retries) once per run, pages never


def test_robots_disallow_fetched_once_and_crawl_delay_exposed():
    body = b"\xef\xbb\xbfUser-agent: *\nDisallow: /private/\nCrawl-delay: 0.2\nSitemap: http://site.example/s.xml\n"
    f, rec = fetcher({"/robots.txt": [html(body)], "/ok": [html()], "/private/x": [html()]})
    with f:
        ok = f.fetch(f"http://{SITE}/ok", allowed_hosts={SITE})
        no = f.fetch(f"http://{SITE}/private/x", allowed_hosts={SITE})
        ok2 = f.fetch(f"http://{SITE}/ok", allowed_hosts={SITE})
        assert f.crawl_delay(SITE) == 0.2
        assert f.robots_sitemaps(SITE) == ["http://site.example/s.xml"]
    assert ok.outcome == ok2.outcome == Outcome.OK
    assert no.outcome == Outcome.ROBOTS and no.attempts == 0 and "robots.txt" in no.error
    assert rec.paths().count("/robots.txt") == 1 and "/private/x" not in rec.paths()
    ok_times = [t for p, _, t in rec.seen if p == "/ok"]
    assert ok_times[1] - ok_times[0] >= 0.15  # Crawl-delay honoured between the two pages


def test_robots_over_size_cap_parses_first_500_kib():
    body = b"User-agent: *\nDisallow: /x/\n" + b"# padding\n" * (ROBOTS_MAX_BYTES // 10 + 100)
    f, rec = fetcher({"/robots.txt": [html(body)], "/x/1": [html()]})
    with f:
        r = f.fetch(f"http://{SITE}/x/1", allowed_hosts={SITE})
    assert r.outcome == Outcome.ROBOTS and "/x/1" not in rec.paths()


# -- conditional GET, headers (cases 05/06 as far as headers go) -------------------------------------

def test_conditional_get_sends_validators_and_maps_304():
    f, rec = fetcher({"/robots.txt": [httpx.Response(404)],
                      "/a": [httpx.Response(304, headers={"ETag": '"v1"'})]})
    with f:
        r = f.fetch(f"http://{SITE}/a", allowed_hosts={SITE}, etag='"v1"',
                    last_modified="Wed, 18 Jun 2025 02:00:00 GMT", headers={"X-Source": "test"})
    sent = next(h for p, h, _ in rec.seen if p == "/a")
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == "Wed, 18 Jun 2025 02:00:00 GMT"
    assert sent["x-source"] == "test" and "hubwatch" in sent["user-agent"] and "+http" in sent["user-agent"]
    assert r.outcome == Outcome.NOT_MODIFIED and r.etag == '"v1"' and r.body == b""


@pytest.mark.parametrize("case,body_name", [("05-enc-utf8-bom-vs-header", "page.html"),
                                            ("06-feed-textxml-no-charset-gb2312", "feed.xml")])
def test_case_headers_and_bytes_pass_through(shared_dir, case, body_name):
    folder = shared_dir / "cases" / case
    meta = json.loads((folder / "response.json").read_text())
    raw = (folder / meta["body_file"]).read_bytes()
    url = meta["request_url"]
    f, _ = fetcher({"/robots.txt": [httpx.Response(404)],
                    httpx.URL(url).raw_path.decode(): [httpx.Response(meta["status"], headers=meta["headers"],
                                                                      stream=stream(raw))]})
    with f:
        r = f.fetch(url, allowed_hosts={host_key(url)}, expect="feed" if body_name.endswith("xml") else "page")
    assert r.outcome == Outcome.OK and r.body == raw  # BOM and bytes untouched: decoding is decode.py's job
    for name, value in meta["headers"]:
        assert r.headers[name.lower()] == value  # names lower-cased, values exact


# -- redirects and allowed hosts -------------------------------------------------------------------

def test_redirect_chain_recorded_and_fragment_dropped():
    f, rec = fetcher({"/robots.txt": [httpx.Response(404)],
                      "/a": [httpx.Response(301, headers={"location": "/b#frag"})],
                      "/b": [httpx.Response(302, headers={"location": "http://m.site.example/c"})],
                      "/c": [html()]})
    with f:
        r = f.fetch(f"http://{SITE}/a", allowed_hosts={SITE, "m.site.example"})
    assert r.outcome == Outcome.OK and r.final_url == "http://m.site.example/c"
    assert r.redirects == [f"http://{SITE}/a", f"http://{SITE}/b"]


@pytest.mark.parametrize("location,why", [
    ("http://other.example/x", "outside the allowed hosts"),
    ("http://site.example:8080/x", "outside the allowed hosts"),  # same name, another port
    ("file:///etc/passwd", "not an http(s) URL"),
    ("http://169.254.169.254/latest/meta-data/", "internal address"),  # cloud metadata
    ("http://10.1.2.3/admin", "internal address"),
])
def test_redirect_leaving_allowed_or_public_space_is_blocked(location, why):
    allowed = {SITE, "169.254.169.254", "10.1.2.3"}  # even when listed, internal targets are refused
    f, rec = fetcher({"/robots.txt": [httpx.Response(404)], "/a": [httpx.Response(302, headers={"location": location})]})
    with f:
        r = f.fetch(f"http://{SITE}/a", allowed_hosts=allowed)
    assert r.outcome == Outcome.BLOCKED_REDIRECT and why in r.error
    assert rec.paths() == ["/robots.txt", "/a"]


def test_first_url_outside_allowed_hosts_is_refused():
    f, rec = fetcher({"/a": [html()]})
    with f:
        r = f.fetch("http://elsewhere.example/a", allowed_hosts={SITE})
    assert r.outcome == Outcome.BLOCKED_REDIRECT and rec.seen == []


def test_host_key_and_internal_addresses():
    assert host_key("https://WWW.Gov.CN:443/a") == "www.gov.cn"
    assert host_key("http://127.0.0.1:8080/") == "127.0.0.1:8080"
    assert host_key("http://[::1]:81/") == "[::1]:81"
    for address in ("127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "::1",
                    "fe80::1", "fc00::1", "100.64.0.1", "0.0.0.0", "::ffff:127.0.0.1", "224.0.0.1"):
        assert is_internal(address), address
    for address in ("8.8.8.8", "2001:4860:4860::8888", "1.1.1.1"):
        assert not is_internal(address), address


def test_malformed_url_is_a_result_not_an_exception():
    f, _ = fetcher({})
    with f:
        r = f.fetch("http://[::1/broken", allowed_hosts={SITE})
    assert r.outcome in (Outcome.NETWORK_ERROR, Outcome.BLOCKED_REDIRECT) and r.error


# -- bodies --------------------------------------------------------------------------------------------

def test_binary_content_type_not_read_and_sniffed_bodies():
    f, _ = fetcher({"/robots.txt": [httpx.Response(404)],
                    "/img": [httpx.Response(200, headers={"content-type": "image/png"}, stream=stream(b"x"))],
                    "/png": [html(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)]})
    with f:
        img = f.fetch(f"http://{SITE}/img", allowed_hosts={SITE})
        png = f.fetch(f"http://{SITE}/png", allowed_hosts={SITE})
        anyb = f.fetch(f"http://{SITE}/png", allowed_hosts={SITE}, expect="any")
    assert img.outcome == png.outcome == Outcome.BINARY and "image/png" in img.error and "PNG" in png.error
    assert anyb.outcome == Outcome.OK and anyb.body.startswith(b"\x89PNG")
    assert sniff_binary(b"<!DOCTYPE html><html>") is None


def test_feed_gzip_file_inflated_within_cap():
    sitemap = b'<?xml version="1.0"?><urlset><url><loc>http://site.example/a</loc></url></urlset>'
    small = FAST.model_copy(update={"max_bytes": 4096})
    f, _ = fetcher({"/robots.txt": [httpx.Response(404)],
                    "/s.xml.gz": [httpx.Response(200, headers={"content-type": "application/x-gzip"},
                                                 stream=stream(gzip.compress(sitemap)))],
                    "/big.xml.gz": [httpx.Response(200, stream=stream(gzip.compress(b"<a>" * 100_000)))]},
                   settings=small)
    with f:
        ok = f.fetch(f"http://{SITE}/s.xml.gz", allowed_hosts={SITE}, expect="feed")
        big = f.fetch(f"http://{SITE}/big.xml.gz", allowed_hosts={SITE}, expect="feed")
    assert ok.outcome == Outcome.OK and ok.body == sitemap
    assert big.outcome == Outcome.TOO_LARGE and big.body == b"" and "4096" in big.error


def test_unknown_content_encoding_is_decode_error():
    f, _ = fetcher({"/robots.txt": [httpx.Response(404)],
                    "/a": [httpx.Response(200, headers={"content-encoding": "lzma"}, stream=stream(b"xx"))]})
    with f:
        r = f.fetch(f"http://{SITE}/a", allowed_hosts={SITE})
    assert r.outcome == Outcome.DECODE_ERROR and "lzma" in r.error


# -- politeness, gate, threads, breaker -----------------------------------------------------------

def test_per_host_delay_across_threads_and_gate():
    entered: list[tuple[str, float]] = []

    @contextmanager
    def gate(host, site_delay=None):
        entered.append((host, time.monotonic()))  # when each request really starts
        yield

    with FaultServer() as site, Fetcher(FAST, host_gate=gate) as f:
        urls = [site.url(f"/articles/{n}.html") for n in range(1, 7)]
        results: list = []
        threads = [threading.Thread(target=lambda u=u: results.append(
            f.fetch(u, allowed_hosts={site.host}, delay=0.2))) for u in urls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        served = len(site.requested("/articles/"))
    assert [r.outcome for r in results] == [Outcome.OK] * 6 and served == 6
    assert {r.body for r in results} == {article_html(n) for n in range(1, 7)}
    starts = sorted(t for _, t in entered)
    assert all(b - a >= 0.19 for a, b in zip(starts, starts[1:])), "per-host delay not kept across threads"
    assert [h for h, _ in entered] == [site.host] * 7  # robots.txt + six pages, each inside the gate


def test_breaker_counts_connection_failures_not_http_errors():
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        if request.url.host == "down.example":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(500) if request.url.path != "/robots.txt" else httpx.Response(404)

    settings = FAST.model_copy(update={"breaker_threshold": 2, "retries": 1})
    with Fetcher(settings, transport=httpx.MockTransport(handler)) as f:
        for _ in range(3):  # HTTP 500s never open the breaker
            assert f.fetch(f"http://{SITE}/x", allowed_hosts={SITE}).outcome == Outcome.HTTP_ERROR
        first = f.fetch("http://down.example/a", allowed_hosts={"down.example"}, check_robots=False)
        before = calls["n"]
        second = f.fetch("http://down.example/b", allowed_hosts={"down.example"}, check_robots=False)
    assert first.outcome == Outcome.NETWORK_ERROR and first.attempts == 2
    assert second.outcome == Outcome.HOST_SKIPPED and second.attempts == 0 and calls["n"] == before
    assert "2 connection failures" in second.error


def test_unresolved_name_is_not_retried_and_remembered_for_the_run():
    """Issue 12 point 10: an offline run must not spend retries and backoff per URL."""
    import time as _time

    from hubwatch.crawl.fetch import Fetcher, FetchSettings
    from hubwatch.outcomes import Outcome as _Outcome

    settings = FetchSettings(retries=3, backoff_base=2.0, host_delay=0)
    with Fetcher(settings) as fetcher:
        started = _time.monotonic()
        first = fetcher.fetch("http://nowhere.invalid/a.html", allowed_hosts={"nowhere.invalid"},
                              check_robots=False)
        second = fetcher.fetch("http://nowhere.invalid/b.html", allowed_hosts={"nowhere.invalid"},
                               check_robots=False)
        elapsed = _time.monotonic() - started
    assert first.outcome == second.outcome == _Outcome.NETWORK_ERROR
    assert first.attempts == 1 and "cannot resolve nowhere.invalid" in first.error
    assert second.attempts == 0 and "not retried" in second.error
    assert elapsed < 2.0  # one retry would already have slept about 1 s or more
