"""Dates: cases 08, 10, 12 and the classes they stand for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import lxml.html
import pytest
from support.extract_cases import load_case, when

from hubwatch.text.dates import date_from_url, parse_date
from hubwatch.text.extract import parse_page

BASE = datetime(2025, 6, 18, 2, 15, tzinfo=UTC)  # 10:15 in Shanghai


def test_case08_cjk_byline(shared_dir):
    case = load_case(shared_dir, "08")
    page = parse_page(case.body, **case.kwargs())
    assert page.published_at == when(case.expected["expected"]["published_at"])
    assert page.published_at.utcoffset() == timedelta(hours=8)
    assert page.published_precision == "minute"


def test_case08_formats(shared_dir):
    case = load_case(shared_dir, "08")
    late = datetime(2025, 6, 19, tzinfo=UTC)
    for text, iso in case.expected["extra_formats_the_parser_must_accept"]:
        value, precision = parse_date(text, base=late)
        expected = when(iso if "T" in iso else iso + "T00:00:00+08:00")
        assert value == expected, text
        assert precision == ("day" if "T" not in iso else "second" if text.count(":") == 2 else "minute")


def test_copyright_years_are_not_dates():
    assert parse_date("版权所有 2003-2025 示范区执委会", base=BASE) is None
    assert parse_date("© 1997-2025 Example Daily. All rights reserved", base=BASE) is None


def test_case10_naive_time_takes_site_zone(shared_dir):
    case = load_case(shared_dir, "10")
    page = parse_page(case.body, **case.kwargs())
    assert page.published_at == when(case.expected["expected"]["published_at"])
    assert page.published_at.astimezone(UTC) == when(case.expected["expected"]["published_at_utc"])
    assert page.published_at <= case.fetched_at


@pytest.mark.parametrize("tz,offset", [("Asia/Shanghai", 8), ("Asia/Hong_Kong", 8), ("Europe/London", 1),
                                       ("America/New_York", -4)])
def test_naive_meta_dates_in_each_site_zone(tz, offset):
    body = b'<html><head><meta property="article:published_time" content="2025-06-17 07:30"></head><body></body></html>'
    page = parse_page(body, url=None, content_type=None, fetched_at=BASE, site_timezone=tz)
    assert page.published_at.utcoffset() == timedelta(hours=offset)
    assert page.published_at.replace(tzinfo=None) == datetime(2025, 6, 17, 7, 30)


def test_explicit_offsets_kept():
    value, precision = parse_date("2025-06-17T23:30:00Z", base=BASE, tz="Asia/Shanghai")
    assert value == datetime(2025, 6, 17, 23, 30, tzinfo=UTC) and precision == "second"


def test_case12_relative_dates_resolve_against_fetch_time(shared_dir):
    case = load_case(shared_dir, "12")
    doc = lxml.html.document_fromstring(case.body.decode("utf-8"))
    found = {a.get("href"): a.getnext().text for a in doc.iter("a")}
    for item in case.expected["expected"]["items"]:
        path = item["url"].split(".example", 1)[1]
        value, precision = parse_date(found[path], base=case.fetched_at)
        assert (value, precision) == (when(item["published_at"]), item["precision"]), found[path]


@pytest.mark.parametrize("text,delta,precision", [("5分钟前", timedelta(minutes=5), "minute"),
                                                  ("3天前", timedelta(days=3), "day"),
                                                  ("45 minutes ago", timedelta(minutes=45), "minute"),
                                                  ("1 day ago", timedelta(days=1), "day"),
                                                  ("半小时前", timedelta(minutes=30), "hour")])
def test_relative_forms(text, delta, precision):
    assert parse_date(text, base=BASE) == (BASE - delta, precision)


def test_reparsing_later_gives_the_same_answer(shared_dir):
    case = load_case(shared_dir, "12")
    first = parse_page(case.body, **case.kwargs())
    again = parse_page(case.body, **case.kwargs())
    assert first.published_at == again.published_at


def test_future_dates_refused():
    assert parse_date("2025-06-19 09:00", base=BASE) is None
    body = ('<html><head><meta name="pubdate" content="2030-01-01 00:00"></head><body>'
            '<div class="info">发布时间：2025年06月17日 08:00</div><p>正文。</p></body></html>').encode()
    page = parse_page(body, url=None, content_type=None, fetched_at=BASE)
    assert page.published_at == when("2025-06-17T08:00:00+08:00")


def test_dates_in_scripts_ignored_json_ld_read():
    script = '<script>var pub = "2025-06-10 08:00";</script>'
    body = f"<html><head>{script}</head><body><p>正文没有日期。</p></body></html>".encode()
    assert parse_page(body, url=None, content_type=None, fetched_at=BASE).published_at is None
    ld = '<script type="application/ld+json">{"@graph":[{"@type":"NewsArticle","datePublished":"2025-06-10T08:00:00+08:00","author":{"name":"李华"}}]}</script>'
    page = parse_page(f"<html><head>{ld}</head><body><p>正文。</p></body></html>".encode(), url=None,
                      content_type=None, fetched_at=BASE)
    assert page.published_at == when("2025-06-10T08:00:00+08:00") and page.author == "李华"


def test_byline_refines_date_only_meta():
    body = ('<html><head><meta name="publishdate" content="2025-06-17"></head><body><h1>标题</h1>'
            '<div class="source">2025-06-17 16:05 来源：新华社</div><p>正文内容，足够长。</p></body></html>').encode()
    page = parse_page(body, url=None, content_type=None, fetched_at=BASE)
    assert (page.published_at, page.published_precision) == (when("2025-06-17T16:05:00+08:00"), "minute")


@pytest.mark.parametrize("url,day,precision", [
    ("http://finance.people.com.cn/n1/2024/0510/c1004-40232587.html", "2024-05-10", "day"),
    ("http://news.china.com.cn/2024-05/13/content_117184963.shtml", "2024-05-13", "day"),
    ("https://www.shifanqu.example/xw/gzdt/content_20250618_3301.html", "2025-06-18", "day"),
    ("https://www.gov.example/zhengce/202405/t20240510_1.html", "2024-05-10", "day"),
    ("https://www.gov.example/zhengce/202405/index.html", "2024-05-01", "month"),
    ("https://www.example/2024-05/", "2024-05-01", "month"),
])
def test_url_dates_at_their_precision(url, day, precision):
    value, found = date_from_url(url, base=BASE)
    assert (value.date().isoformat(), found) == (day, precision)
    assert value.utcoffset() == timedelta(hours=8)


def test_url_without_date():
    assert date_from_url("http://www.xinhuanet.com/c_1125597921.htm", base=BASE) is None
    assert date_from_url("https://www.example/2026/0101/a.html", base=BASE) is None  # after the fetch


def test_url_day_overrules_a_caption_date_from_another_day():
    body = ("<html><body><h1>Hoax calls</h1><figure><figcaption>A vigil in Raleigh on Oct. 15, 2022.</figcaption>"
            "</figure><p>Multiple schools have been subject to hoaxes, officials said on Friday.</p></body></html>")
    page = parse_page(body.encode(), url="http://www.example.cn/opinion/2022-10/21/content_1.htm",
                      content_type=None, fetched_at=BASE)
    assert (page.published_at.date().isoformat(), page.published_precision) == ("2022-10-21", "day")


def test_itemprop_and_time_pubdate():
    for markup in ('<span itemprop="datePublished" content="2025-06-16T09:00:00+08:00">6月16日</span>',
                   '<time pubdate datetime="2025-06-16T09:00:00+08:00">June 16</time>'):
        page = parse_page(f"<html><body>{markup}<p>正文内容，足够长。</p></body></html>".encode(), url=None,
                          content_type=None, fetched_at=BASE)
        assert page.published_at == when("2025-06-16T09:00:00+08:00")


def test_utc_values_expressed_in_the_site_zone():
    body = b'<html><head><meta property="article:published_time" content="2025-06-17T23:30:00Z"></head></html>'
    page = parse_page(body, url=None, content_type=None, fetched_at=BASE)
    assert page.published_at.utcoffset() == timedelta(hours=8) and page.published_at.hour == 7
