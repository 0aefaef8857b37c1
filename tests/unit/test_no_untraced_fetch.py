"""Issue 16 (points 3, 4 and 6) at unit level: the fault classes that used to end a source's
crawl, or a page, without a record; bounded parsing; IPv6 forms of internal addresses."""

from __future__ import annotations

import datetime as dt
import gzip
import time

import pytest

from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.crawl.bounded import MAX_CODINGS, ContentDecodingError, decode_stream
from hubwatch.crawl.discover import discover
from hubwatch.crawl.fetch import FetchResult
from hubwatch.crawl.netguard import embedded_ipv4, is_internal
from hubwatch.crawl.urls import is_allowed, normalize_url, url_problem
from hubwatch.outcomes import Outcome
from hubwatch.text.decode import codec_for_label, decode_html
from hubwatch.text.extract import ExtractError
from hubwatch.text.worker import ParseLimits, ParsePool, cut_text

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


# -- codecs: names Python knows and browsers do not are unknown ---------------------------

@pytest.mark.parametrize("label", ["base64", "rot13", "rot_13", "undefined", "hex", "zlib", "uu",
                                   "bz2", "unicode_escape", "raw_unicode_escape", "idna", "punycode"])
def test_python_only_codec_names_are_unknown(label):
    assert codec_for_label(label) is None


@pytest.mark.parametrize("label", ["base64", "rot13", "undefined"])
def test_page_with_unknown_codec_decodes_by_the_other_rules(label):
    text = "<p>粤港澳大湾区</p>"
    in_header = decode_html(text.encode("utf-8"), f"text/html; charset={label}")
    in_meta = decode_html(f'<meta charset="{label}">{text}'.encode("utf-8"), "text/html")
    assert "粤港澳大湾区" in in_header.text and "粤港澳大湾区" in in_meta.text
    assert in_header.encoding == in_meta.encoding == "utf-8"


def test_web_labels_still_known():
    assert [codec_for_label(x) for x in ("utf-8", "gbk", "big5", "shift_jis", "koi8-r")] == [
        "utf-8", "gb18030", "big5hkscs", "cp932", "koi8-r"]


# -- stacked Content-Encoding ---------------------------------------------------------

def test_encodings_stacked_past_the_limit_are_a_decode_error_not_a_recursion_error():
    body = b"<p>x</p>"
    for _ in range(1000):
        body = gzip.compress(body, mtime=0)
    with pytest.raises(ContentDecodingError, match="stacked"):
        b"".join(decode_stream([body], ", ".join(["gzip"] * 1000)))


def test_a_few_stacked_encodings_are_undone():
    body = b"<p>x</p>"
    for _ in range(MAX_CODINGS):
        body = gzip.compress(body, mtime=0)
    assert b"".join(decode_stream([body], ", ".join(["gzip"] * MAX_CODINGS))) == b"<p>x</p>"


# -- URLs -------------------------------------------------------------------------------

def test_ipv6_literals_keep_their_brackets_and_normalising_is_idempotent():
    once = normalize_url("http://[::1]:8080/a?utm_source=x")
    assert once == "http://[::1]:8080/a" == normalize_url(once)
    assert is_allowed(once, {"[::1]:8080"}) and not is_allowed(once, {"[::1]:9"})


@pytest.mark.parametrize("url", ["http://host:1:2/", "http://[::1/", "http://h:99999/", "mailto:x@y",
                                 "http:///nohost"])
def test_unfetchable_links_are_named_and_never_raise(url):
    assert url_problem(url)
    normalize_url(url)  # returns something; never raises
    assert not is_allowed(url, {"host", "h"})


def _result(url: str, body: bytes, ctype: str = "text/html") -> FetchResult:
    return FetchResult(url=url, final_url=url, status=200, headers={"content-type": ctype}, body=body,
                       outcome=Outcome.OK, error=None, attempts=1, fetched_at=NOW, elapsed_seconds=0.0,
                       redirects=[], etag=None, last_modified=None)


def _source(*endpoints: Discovery, max_pages: int | None = None) -> SourceConfig:
    return SourceConfig(slug="t", name="T", kind="policy", language="en", allowed_hosts=["site.example"],
                        discovery=list(endpoints), max_pages=max_pages)


def test_discovery_drops_bad_links_with_a_warning_and_keeps_the_rest():
    links = ["/a.html", "http://host:1:2/", "http://[::1/", "http://[::1]:8080/x", "https://other.example/b",
             "/c.html"]
    body = "".join(f'<a class="x" href="{u}">l</a>' for u in links).encode()
    found = discover(_source(Discovery(type="listing", url="https://site.example/list", selector="a.x")),
                     lambda url, **_: _result(url, body))
    assert [c.url for c in found.candidates] == ["https://site.example/a.html", "https://site.example/c.html"]
    (report,) = found.endpoints
    assert report.outcome == Outcome.OK and len(report.warnings) == 2
    assert "host:1:2" in report.warnings[0] and "[::1/" in report.warnings[1]


def test_the_page_cap_stops_discovery_of_child_sitemaps():
    requested: list[str] = []

    def fetch(url: str, **_):
        requested.append(url)
        if url.endswith("index.xml"):
            rows = "".join(f"<sitemap><loc>https://site.example/s{i}.xml</loc></sitemap>" for i in range(1000))
            return _result(url, f"<sitemapindex>{rows}</sitemapindex>".encode(), "application/xml")
        rows = "".join(f"<url><loc>https://site.example/{url[-6:-4]}/{n}</loc></url>" for n in range(5000))
        return _result(url, f"<urlset>{rows}</urlset>".encode(), "application/xml")

    source = _source(Discovery(type="sitemap", url="https://site.example/index.xml"),
                     Discovery(type="sitemap", url="https://site.example/other-index.xml"))
    found = discover(source, fetch, limit=200)
    assert len(found.candidates) == 200
    assert requested == ["https://site.example/index.xml", "https://site.example/s0.xml"]


def test_a_parser_bug_costs_the_endpoint_not_the_source(monkeypatch):
    from hubwatch.crawl import discover as module

    def boom(*_):
        raise KeyError("bug")

    monkeypatch.setitem(module._PARSERS, "json", boom)
    source = _source(Discovery(type="json", url="https://site.example/list.json", items_path="x",
                               url_field="u"),
                     Discovery(type="listing", url="https://site.example/list", selector="a"))
    found = discover(source, lambda url, **_: _result(url, b'<a href="/ok.html">x</a>'))
    assert [r.outcome for r in found.endpoints] == [Outcome.INTERNAL_ERROR, Outcome.OK]
    assert "KeyError" in found.endpoints[0].error
    assert [c.url for c in found.candidates] == ["https://site.example/ok.html"]


# -- bounded parsing --------------------------------------------------------------------

@pytest.fixture(scope="module")
def pool():
    p = ParsePool(ParseLimits(deadline=4, memory_mb=1024, workers=1, max_text_chars=5000))
    yield p
    p.close()


def _parse(pool: ParsePool, body: bytes):
    return pool.parse(body, url="https://site.example/a", content_type="text/html; charset=utf-8",
                      fetched_at=NOW)


def test_attribute_bomb_ends_as_parse_limit_within_10_s_and_the_worker_is_replaced(pool):
    good = b"<html><body><article><p>Greater Bay Area news in one short paragraph.</p></article></body></html>"
    first_pid = (_parse(pool, good), pool._idle.queue[-1].proc.pid)[1]
    assert pool._idle.queue[-1].proc.pid == (_parse(pool, good), first_pid)[1]  # reused, not respawned
    bomb = ("<p " + " ".join(f"a{i}=x" for i in range(1_000_000)) + ">x</p>").encode()
    started = time.monotonic()
    with pytest.raises(ExtractError) as err:
        _parse(pool, bomb)
    assert err.value.outcome == "parse_limit" and time.monotonic() - started < 10
    assert "Greater Bay Area" in _parse(pool, good).page.text  # a fresh worker took over
    assert pool._idle.queue[-1].proc.pid != first_pid


def test_memory_limit_ends_as_parse_limit():
    small = ParsePool(ParseLimits(deadline=20, memory_mb=256, workers=1))
    try:
        body = ("<html><body>" + "<p>Greater Bay Area words</p>" * 2_000_000 + "</body></html>").encode()
        with pytest.raises(ExtractError) as err:
            _parse(small, body)
        assert err.value.outcome == "parse_limit"
    finally:
        small.close()


def test_long_text_is_cut_at_a_paragraph_and_the_length_kept(pool):
    body = ("<html><body><article>" + "<p>Greater Bay Area policy sentence number ten.</p>" * 400
            + "</article></body></html>").encode()
    parsed = _parse(pool, body)
    assert parsed.text_cut and len(parsed.page.text) <= 5000 < parsed.text_chars
    assert parsed.page.text.endswith("ten.")


def test_cut_text_leaves_short_pages_alone():
    from hubwatch.text.extract import Page

    page = Page(title="t", text="a\n\nb")
    assert cut_text(page, 10) is page and cut_text(page, 2).text == "a"


# -- IPv6 forms of internal addresses --------------------------------------------------

@pytest.mark.parametrize("address", [
    "64:ff9b::127.0.0.1", "64:ff9b::10.0.0.1", "64:ff9b::a9fe:a9fe",  # NAT64 (RFC 6052)
    "64:ff9b:1::192.168.0.1",  # NAT64 local-use (RFC 8215)
    "2002:7f00:1::", "2002:c0a8:101::1", "2002:a9fe:a9fe::",  # 6to4 (RFC 3056)
    "::127.0.0.1", "::10.1.2.3", "::169.254.169.254",  # IPv4-compatible (RFC 4291)
    "::ffff:127.0.0.1", "::ffff:192.168.1.1",  # IPv4-mapped
    "::1", "::", "fe80::1%eth0", "fd00::1",
])
def test_internal_ipv6_forms(address):
    assert is_internal(address)


@pytest.mark.parametrize("address", ["64:ff9b::8.8.8.8", "2002:808:808::1", "::ffff:8.8.8.8",
                                     "2001:4860:4860::8888", "8.8.8.8"])
def test_public_addresses_stay_public(address):
    assert not is_internal(address)


def test_embedded_ipv4_of_each_form():
    import ipaddress

    forms = {"64:ff9b::7f00:1": "127.0.0.1", "2002:7f00:1::": "127.0.0.1", "::7f00:1": "127.0.0.1",
             "::ffff:7f00:1": "127.0.0.1"}
    assert {a: str(embedded_ipv4(ipaddress.IPv6Address(a))) for a in forms} == forms
    assert embedded_ipv4(ipaddress.IPv6Address("::1")) is None
