"""Discovery that takes real files (issue 12 point 5): white space or a BOM before the XML
declaration (case 42), a gb2312 label over GBK bytes in a sitemap, HTML entities in a
feed (ok with a warning), feed dates without a zone in the source's zone and Chinese
forms (case 45). Files are generated here; the shared cases are replayed when present."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.crawl.discover import discover, feed_date
from hubwatch.crawl.fetch import FetchResult
from hubwatch.outcomes import Outcome

NOW = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
HOST = "feeds.example"


def _result(url: str, body: bytes, content_type: str, fetched_at=NOW):
    return FetchResult(url=url, final_url=url, status=200, headers={"content-type": content_type},
                       body=body, outcome=Outcome.OK, error=None, attempts=1, fetched_at=fetched_at,
                       elapsed_seconds=0.0, redirects=[], etag=None, last_modified=None)


def _discover(kind: str, body: bytes, content_type="application/xml", *, tz="Asia/Shanghai",
              hosts=(HOST,), url=f"https://{HOST}/x.xml", fetched_at=NOW, since=None):
    source = SourceConfig(slug="t", name="T", kind="policy", language="zh", timezone=tz,
                          allowed_hosts=list(hosts), discovery=[Discovery(type=kind, url=url)])
    return discover(source, lambda u, **_: _result(u, body, content_type, fetched_at), since=since)


def _rss(items: str, head: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    return f"{head}\n<rss version=\"2.0\"><channel><title>T</title>{items}</channel></rss>"


def _item(n: int, date: str = "Tue, 17 Jun 2025 09:15:00 +0800", title: str = "t") -> str:
    return (f"<item><title>{title}</title><link>https://{HOST}/a/{n}.html</link>"
            f"<pubDate>{date}</pubDate></item>")


SITEMAP = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
           'schemas/sitemap/0.9"><url><loc>https://feeds.example/a/1.html</loc>'
           "<lastmod>2025-06-17T10:20:00Z</lastmod></url><url><loc>https://feeds.example/a/2.html"
           "</loc></url></urlset>")


@pytest.mark.parametrize("prefix", [b"\r\n\r\n", b"\n", b"  \t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n "])
def test_sitemap_and_feed_with_space_or_bom_before_the_declaration(prefix):
    site = _discover("sitemap", prefix + SITEMAP.encode())
    assert site.endpoints[0].outcome == Outcome.OK, site.endpoints[0].error
    assert [c.url for c in site.candidates] == [f"https://{HOST}/a/1.html", f"https://{HOST}/a/2.html"]
    feed = _discover("feed", prefix + _rss(_item(1) + _item(2)).encode())
    assert feed.endpoints[0].outcome == Outcome.OK, feed.endpoints[0].error
    assert len(feed.candidates) == 2


def test_gb2312_label_over_gbk_bytes_in_a_sitemap():
    # 镕 (U+9555) is in GBK but not in GB2312: a strict gb2312 decoder fails on it.
    body = SITEMAP.replace("UTF-8", "gb2312").replace("/a/2.html", "/a/2.html?t=镕基").encode("gbk")
    found = _discover("sitemap", body, "text/xml; charset=gb2312")
    assert found.endpoints[0].outcome == Outcome.OK, found.endpoints[0].error
    assert any("镕基" in c.url or "%E9%95%95" in c.url.upper() for c in found.candidates)


def test_html_entities_in_a_feed_are_decoded_with_a_warning():
    body = _rss(_item(1, title="Plan &mdash; part&nbsp;one &amp; more") + _item(2)).encode()
    found = _discover("feed", body)
    (report,) = found.endpoints
    assert report.outcome == Outcome.OK
    assert "&mdash; x1" in report.error and "&nbsp; x1" in report.error
    assert found.candidates[0].title == "Plan \u2014 part\u00a0one & more"
    assert len(found.candidates) == 2


def test_feed_declaring_its_own_entities_stays_refused():
    body = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY mdash "x">]>'
            + _rss(_item(1, title="a &mdash; b"), head="")).encode()
    (report,) = _discover("feed", body).endpoints
    assert report.outcome == Outcome.BAD_FEED and "unsafe" in report.error


@pytest.mark.parametrize("raw, tz, want", [
    ("2025-06-17 20:30:00", "Asia/Shanghai", "2025-06-17T12:30:00+00:00"),
    ("2025-06-17T20:30:00", "Europe/London", "2025-06-17T19:30:00+00:00"),
    ("2025年06月17日 08:00", "Asia/Shanghai", "2025-06-17T00:00:00+00:00"),
    ("Tue, 17 Jun 2025 09:15:00 +0800", "Europe/London", "2025-06-17T01:15:00+00:00"),
    ("Tue, 17 Jun 2025 09:15:00", "Asia/Shanghai", "2025-06-17T01:15:00+00:00"),
    ("Tue, 17 Jun 2025 09:15:00 GMT", "Asia/Shanghai", "2025-06-17T09:15:00+00:00"),
])
def test_feed_dates_read_in_the_source_zone(raw, tz, want):
    from zoneinfo import ZoneInfo

    when = feed_date(raw, ZoneInfo(tz), NOW)
    assert when is not None and when.astimezone(dt.UTC).isoformat() == want


def test_feed_date_after_the_fetch_is_refused():
    from zoneinfo import ZoneInfo

    assert feed_date("2027-01-01 08:00:00", ZoneInfo("Asia/Shanghai"), NOW) is None


def _replay(shared_dir, name: str, kind: str, **kw):
    case = shared_dir / "cases" / name
    expected = json.loads((case / "expected.json").read_text())
    response = json.loads((case / "response.json").read_text())
    headers = dict((k.lower(), v) for k, v in response["headers"])
    host = response["request_url"].split("/")[2]
    fetched = dt.datetime.fromisoformat(response["fetched_at"].replace("Z", "+00:00"))
    found = _discover(kind, (case / response["body_file"]).read_bytes(), headers["content-type"],
                      tz=expected["context"].get("source_timezone", expected["context"].get(
                          "site_timezone", "Asia/Shanghai")),
                      hosts=(host,), url=response["request_url"], fetched_at=fetched, **kw)
    return expected, found


def _utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_case42_sitemap_with_blank_lines_before_the_declaration(shared_dir):
    expected, found = _replay(shared_dir, "42-sitemap-blank-lines-before-xml-decl", "sitemap")
    want = expected["expected"]
    assert found.endpoints[0].outcome == want["outcome"], found.endpoints[0].error
    assert {c.url for c in found.candidates} == set(want["page_urls"])
    for c in found.candidates:
        assert c.published_at == _utc(want["lastmod_utc"][c.url])


def test_case45_feed_with_naive_and_chinese_dates(shared_dir):
    expected, found = _replay(shared_dir, "45-rss-naive-and-chinese-pubdates", "feed")
    want = expected["expected"]
    assert found.endpoints[0].outcome == want["outcome"], found.endpoints[0].error
    assert {c.url for c in found.candidates} == set(want["page_urls"])
    for c in found.candidates:
        assert c.published_at == _utc(want["published_utc"][c.url]), c.url
    for day in expected["driver"]["since_runs"]:
        _, kept = _replay(shared_dir, "45-rss-naive-and-chinese-pubdates", "feed",
                          since=dt.date.fromisoformat(day))
        assert {c.url for c in kept.candidates} == set(want[f"since_{day.replace('-', '_')}_keeps"])
