"""Same site, other host form (issue 12 point 4, case 54): redirects between the bare,
www. and m. editions of an allowed site are followed; off the site stays refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.crawl.urls import same_site_host
from hubwatch.outcomes import Outcome

SETTINGS = FetchSettings(retries=0, host_delay=0)
PAGE = b"<html><head><title>t</title></head><body><p>text</p></body></html>"


def _replay(routes: dict[str, httpx.Response]):
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        asked.append(url)
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        return routes.get(url, httpx.Response(404))

    return Fetcher(SETTINGS, transport=httpx.MockTransport(handler)), asked


@pytest.mark.parametrize("start, final", [
    ("http://example.com/a.html", "https://www.example.com/a.html"),
    ("http://m.example.com/a.html", "https://www.example.com/a.html"),
    ("https://www.example.com/a.html", "https://example.com/a.html"),
    ("https://www.example.com/a.html", "https://m.example.com/a.html"),
])
def test_redirect_between_editions_is_followed(start, final):
    fetcher, asked = _replay({start: httpx.Response(301, headers={"location": final}),
                              final: httpx.Response(200, content=PAGE)})
    with fetcher:
        res = fetcher.fetch(start, allowed_hosts={"www.example.com"})
    assert res.outcome == Outcome.OK and res.final_url == final and res.redirects == [start]


@pytest.mark.parametrize("target", ["https://www.example.org/a.html", "https://evil-example.com/a",
                                    "https://www.example.com:8443/a.html",
                                    "https://news.example.com/a.html"])
def test_redirect_off_the_site_or_port_is_refused_before_a_request(target):
    start = "https://www.example.com/out.html"
    fetcher, asked = _replay({start: httpx.Response(302, headers={"location": target})})
    with fetcher:
        res = fetcher.fetch(start, allowed_hosts={"www.example.com"})
    assert res.outcome == Outcome.BLOCKED_REDIRECT
    assert target not in asked


def test_same_site_host_rules():
    assert same_site_host("example.com", {"www.example.com"})
    assert same_site_host("m.example.com", {"example.com"})
    assert same_site_host("127.0.0.1:8080", {"127.0.0.1:8080"})
    assert not same_site_host("127.0.0.1:8081", {"127.0.0.1:8080"})
    assert not same_site_host("www.example.com:81", {"www.example.com"})
    assert not same_site_host("example.co", {"www.example.com"})


def test_case54_replayed():
    shared = os.environ.get("HUBWATCH_SHARED")
    case = Path(shared or "/nonexistent") / "cases" / "54-redirect-to-www-edition"
    if not case.is_dir():
        pytest.skip("HUBWATCH_SHARED (case 54) not available")
    expected = json.loads((case / "expected.json").read_text())
    routes = {}
    for r in json.loads((case / "responses.json").read_text()):
        routes[r["request_url"]] = httpx.Response(r["status"], headers=r["headers"],
                                                  content=(case / r["body_file"]).read_bytes())
    fetcher, asked = _replay(routes)
    allowed = set(expected["driver"]["allowed_hosts"])
    with fetcher:
        for name, url in expected["driver"]["targets"].items():
            res = fetcher.fetch(url, allowed_hosts=allowed)
            want = expected["expected"][name]
            assert res.outcome == want["outcome"], (name, res.error)
            if "final_url" in want:
                assert res.final_url == want["final_url"]
            if "redirects" in want:
                assert res.redirects == want["redirects"]
            for host in want.get("requested_hosts_exclude", []):
                assert not any(httpx.URL(u).host == host for u in asked)
