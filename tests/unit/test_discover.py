"""Discovery on real feeds and the feed/sitemap/listing/JSON fault classes.

``fetch`` is the transport seam of discovery: here it serves files as a fetcher would
return them (status, headers, bytes), so the parsing rules run on the exact bytes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re

import httpx
import pytest

from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.crawl.discover import discover
from hubwatch.crawl.fetch import Fetcher, FetchResult, FetchSettings
from hubwatch.outcomes import Outcome

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _result(url: str, body: bytes, content_type: str = "application/xml", status=200):
    return FetchResult(url=url, final_url=url, status=status, headers={"content-type": content_type},
                       body=body, outcome=Outcome.OK, error=None, attempts=1, fetched_at=NOW,
                       elapsed_seconds=0.0, redirects=[], etag=None, last_modified=None)


def _source(*endpoints: dict, **extra) -> SourceConfig:
    extra.setdefault("allowed_hosts", ["feeds.example"])
    return SourceConfig(slug="t", name="T", kind="policy", language="zh",
                        discovery=[Discovery(**e) for e in endpoints], **extra)


def _fetcher(pages: dict[str, tuple[bytes, str]]):
    def fetch(url: str, **_):
        body, ctype = pages[url]
        return _result(url, body, ctype)
    return fetch


def test_every_corpus_feed_is_read_without_mojibake(shared_dir, recwarn):
    feeds = sorted((shared_dir / "corpus/feeds").glob("*.xml"))
    assert len(feeds) >= 8
    for path in feeds:
        url = "https://feeds.example/" + path.name
        # Discovery keeps only links of the allowed hosts: allow every host the feed names.
        hosts = sorted(set(re.findall(rb"https?://([A-Za-z0-9.-]+)[/:\"<]", path.read_bytes())))
        found = discover(_source({"type": "feed", "url": url},
                                 allowed_hosts=[h.decode() for h in hosts] or ["feeds.example"]),
                         _fetcher({url: (path.read_bytes(), "text/xml")}))
        (report,) = found.endpoints
        # One real feed has a mismatched tag: recorded as broken, its entries still used.
        assert report.outcome == Outcome.OK or "salvaged" in report.error, (path.name, report.error)
        assert found.candidates, path.name
        titles = "".join(c.title or "" for c in found.candidates)
        assert "\ufffd" not in titles, path.name


def test_case_06_gb2312_feed_served_as_text_xml(shared_dir):
    case = shared_dir / "cases/06-feed-textxml-no-charset-gb2312"
    want = json.loads((case / "expected.json").read_text())["expected"]
    url = "https://www.zhengce.example/feed.xml"
    found = discover(_source({"type": "feed", "url": url}, allowed_hosts=["www.zhengce.example"]),
                     _fetcher({url: ((case / "feed.xml").read_bytes(), "text/xml")}))
    assert found.endpoints[0].outcome == Outcome.OK
    got = [(c.title, c.url, c.published_at) for c in found.candidates]
    assert got == [(e["title"], e["link"], dt.datetime.fromisoformat(e["published_utc"].replace(
        "Z", "+00:00"))) for e in want["entries"]]


def test_gbk_only_characters_in_a_gb2312_labelled_feed():
    """The class of case 06: a label narrower than the bytes (镕 is GBK, not GB2312)."""
    body = ('<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>t</title>'
            '<item><title>朱镕基与京津冀</title><link>https://feeds.example/a.html</link></item>'
            '</channel></rss>').encode("gb18030")
    url = "https://feeds.example/f.xml"
    found = discover(_source({"type": "feed", "url": url}), _fetcher({url: (body, "text/xml")}))
    assert [c.title for c in found.candidates] == ["朱镕基与京津冀"]


def test_broken_and_hostile_feeds_are_bad_feed_and_lose_nothing():
    truncated = (b"<?xml version='1.0'?><rss><channel><item><title>a</title>"
                 b"<link>https://feeds.example/a.html</link></item><item><title>b")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
              b"<rss><channel><item><link>https://feeds.example/&b;</link></item></channel></rss>")
    pages = {"https://feeds.example/1.xml": (truncated, "application/rss+xml"),
             "https://feeds.example/2.xml": (laughs, "application/rss+xml"),
             "https://feeds.example/3.xml": (b"not xml at all", "text/xml")}
    found = discover(_source(*[{"type": "feed", "url": u} for u in pages]), _fetcher(pages))
    assert [r.outcome for r in found.endpoints] == [Outcome.BAD_FEED] * 3
    assert all(r.error for r in found.endpoints)
    assert [c.url for c in found.candidates] == ["https://feeds.example/a.html"]  # salvaged


def test_sitemap_index_gzip_children_and_filters():
    child = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<url><loc>https://feeds.example/a/2026/1.html</loc><lastmod>2026-10-30</lastmod></url>"
             b"<url><loc>https://feeds.example/a/2026/2.html</loc><lastmod>2026-09-01</lastmod></url>"
             b"<url><loc>https://feeds.example/tag/x.html</loc></url></urlset>")
    index = (b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc>https://feeds.example/s1.xml.gz</loc></sitemap></sitemapindex>")
    pages = {"/index.xml": index, "/s1.xml.gz": gzip.compress(child)}

    def serve(request: httpx.Request) -> httpx.Response:  # the transport seam
        body = pages.get(request.url.path)
        return httpx.Response(404) if body is None else httpx.Response(
            200, content=body, headers={"Content-Type": "application/xml"})

    source = _source({"type": "sitemap", "url": "https://feeds.example/index.xml"},
                     include=[r"/a/\d{4}/"])
    # The real fetcher inflates the .xml.gz child (bounded) before discovery parses it.
    with Fetcher(FetchSettings(host_delay=0, retries=0), transport=httpx.MockTransport(serve)) as f:
        found = discover(source, lambda url, **kw: f.fetch(url, allowed_hosts={"feeds.example"}, **kw),
                         since=dt.date(2026, 10, 1))
    assert [r.outcome for r in found.endpoints] == [Outcome.OK, Outcome.OK]
    assert [c.url for c in found.candidates] == ["https://feeds.example/a/2026/1.html"]


def test_listing_with_selector_and_next_page_and_json_list():
    page1 = ('<html><body><ul class="u-list"><li><a href="./202611/t20261101_1.html">一</a></li>'
             '<li><a href="/other/x.html">x</a></li></ul><a class="next" href="p2.html">下一页</a>'
             "</body></html>").encode()
    page2 = b'<html><body><ul class="u-list"><li><a href="202610/t20261030_2.html">b</a></li></ul></body></html>'
    items = json.dumps([{"TITLE": "京津冀", "URL": "https://feeds.example/zhengce/content_9.htm",
                         "DOCRELPUBTIME": "2026-10-31 10:00"}]).encode()
    pages = {"https://feeds.example/list/": (page1, "text/html"),
             "https://feeds.example/list/p2.html": (page2, "text/html"),
             "https://feeds.example/api.json": (items, "application/json")}
    source = _source({"type": "listing", "url": "https://feeds.example/list/",
                      "selector": "ul.u-list li a", "next_selector": "a.next", "max_pages": 3},
                     {"type": "json", "url": "https://feeds.example/api.json", "url_field": "URL",
                      "date_field": "DOCRELPUBTIME", "title_field": "TITLE"},
                     exclude=["/other/"])
    found = discover(source, _fetcher(pages))
    assert [c.url for c in found.candidates] == [
        "https://feeds.example/list/202611/t20261101_1.html",
        "https://feeds.example/list/202610/t20261030_2.html",
        "https://feeds.example/zhengce/content_9.htm"]
    assert found.candidates[2].published_at.isoformat() == "2026-10-31T10:00:00+08:00"
    assert found.candidates[2].title == "京津冀"


@pytest.mark.parametrize("body", [b"{not json", b'{"a": 1}'])
def test_bad_json_list_is_bad_feed(body):
    url = "https://feeds.example/api.json"
    found = discover(_source({"type": "json", "url": url, "url_field": "URL"}),
                     _fetcher({url: (body, "application/json")}))
    assert found.endpoints[0].outcome == Outcome.BAD_FEED and not found.candidates
