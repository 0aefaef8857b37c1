"""URL normalisation and canonical trust: cases 13 and 14 and their classes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from support.extract_cases import load_case

from hubwatch.crawl.urls import (
    absolute_url,
    host_of,
    is_allowed,
    normalize_url,
    strip_amp,
    trusted_canonical,
)
from hubwatch.text.extract import parse_page

FETCHED = datetime(2025, 6, 18, 2, 15, tzinfo=UTC)


def test_case13_relative_and_protocol_relative_canonical(shared_dir):
    case = load_case(shared_dir, "13")
    page = parse_page(case.body, **case.kwargs())
    expected = case.expected["expected"]
    assert page.canonical_url == expected["canonical_url"]
    assert trusted_canonical(case.url, page.canonical_url, {"www.renmin-like.example"}) == expected["document_key"]
    for wrong in ("utm_source", "from=", "isappinstalled", "http://"):
        assert wrong not in trusted_canonical(case.url, page.canonical_url, set())


@pytest.mark.parametrize("tag", ['<meta property="og:url" content="../0618/a.html?utm_medium=x">',
                                 '<link rel="canonical" href="//www.site.example/2025/0618/a.html#top">',
                                 '<link rel="Canonical alternate" href="/2025/0618/a.html?from=timeline">'])
def test_canonical_forms_resolve_against_the_final_url(tag):
    body = f"<html><head>{tag}</head><body><p>正文内容。</p></body></html>".encode()
    page = parse_page(body, url="https://www.site.example/2025/0618/b.html?spm=1", content_type=None, fetched_at=FETCHED)
    assert page.canonical_url == "https://www.site.example/2025/0618/a.html"


def test_case14_url_variants_group_into_documents(shared_dir):
    folder = shared_dir / "cases" / "14-dedup-url-variants"
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))["expected"]
    responses = json.loads((folder / "responses.json").read_text(encoding="utf-8"))
    allowed = {"www.news.example", "www.zhengce.example", "www.think.example"}
    keys: dict[str, str] = {}
    for group in expected["groups"]:
        for member in group["members"]:
            url = normalize_url(member)
            response = responses.get(url, {})
            while response.get("status") == 301:  # follow the redirect as the fetcher would
                url = normalize_url(response["location"])
                response = responses.get(url, {})
            candidate = None
            if "body_file" in response:
                page = parse_page((folder / response["body_file"]).read_bytes(), url=url, content_type=None,
                                  fetched_at=FETCHED)
                candidate = page.canonical_url
            keys[member] = trusted_canonical(url, candidate, allowed)
        assert {keys[m] for m in group["members"]} == {group["key"]}
    assert len(set(keys.values())) == expected["distinct_documents"]


@pytest.mark.parametrize("variant", [
    "HTTPS://Example.COM:443/a/b.html?utm_source=x&utm_medium=y#frag",
    "https://example.com/a/b.html?spm=a.b.c&fbclid=1&gclid=2",
    "https://example.com/a/b.html?from=groupmessage&isappinstalled=0",
    "https://example.com:443/a/b.html",
])
def test_tracking_variants_normalise_alike(variant):
    assert normalize_url(variant) == "https://example.com/a/b.html"


def test_significant_query_kept_and_sorted():
    assert normalize_url("https://e.example/c.jsp?id=101&page=2&spm=x") == "https://e.example/c.jsp?id=101&page=2"
    assert normalize_url("https://e.example/c.jsp?page=2&id=101") == "https://e.example/c.jsp?id=101&page=2"
    assert normalize_url("https://e.example/c.jsp?id=101") != normalize_url("https://e.example/c.jsp?id=102")
    assert normalize_url("http://e.example:8080/x") == "http://e.example:8080/x"
    assert normalize_url("https://e.example") == "https://e.example/"


def test_host_matching():
    assert host_of("https://WWW.A.example:443/x") == "www.a.example"
    assert host_of("http://127.0.0.1:8080/x") == "127.0.0.1:8080"
    assert is_allowed("https://m.a.example/x", {"www.a.example"})
    assert is_allowed("https://amp.a.example/x", {"a.example"})
    assert is_allowed("http://127.0.0.1:8080/x", {"127.0.0.1:8080"})
    assert not is_allowed("http://127.0.0.1:9090/x", {"127.0.0.1:8080"})
    assert not is_allowed("https://a.example.evil.example/x", {"a.example"})
    assert not is_allowed("ftp://www.a.example/x", {"www.a.example"})


@pytest.mark.parametrize("candidate", ["https://www.a.example/", "https://www.a.example", "/",
                                       "https://other.example/2025/x.html", "javascript:void(0)", None, ""])
def test_untrusted_canonicals_fall_back_to_the_page(candidate):
    page = "https://www.a.example/2025/0618/x.html?utm_source=feed"
    assert trusted_canonical(page, candidate, {"www.a.example"}) == "https://www.a.example/2025/0618/x.html"


def test_mobile_and_amp_canonicals_trusted():
    page = "https://m.a.example/amp/2025/x.html"
    assert trusted_canonical(page, "https://www.a.example/2025/x.html", {"www.a.example"}) \
        == "https://www.a.example/2025/x.html"
    assert trusted_canonical(page, None, {"www.a.example"}) == "https://m.a.example/2025/x.html"


@pytest.mark.parametrize("url,stripped", [("https://a.example/amp/x/y.htm", "https://a.example/x/y.htm"),
                                          ("https://a.example/x/y/amp", "https://a.example/x/y"),
                                          ("https://a.example/x/y.amp.html", "https://a.example/x/y.html"),
                                          ("https://a.example/x/y.html?amp=1&id=2", "https://a.example/x/y.html?id=2"),
                                          ("https://a.example/ampere/x.html", "https://a.example/ampere/x.html")])
def test_strip_amp(url, stripped):
    assert strip_amp(url) == stripped


def test_absolute_url():
    assert absolute_url("//h.example/a", "https://b.example/") == "https://h.example/a"
    assert absolute_url("mailto:x@y", "https://b.example/") is None
    assert absolute_url("  ", "https://b.example/") is None
