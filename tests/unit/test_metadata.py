"""Metadata users expect (issue 11, point 5): author markup and bylines (never the editor),
the most precise trustworthy date (absolute over relative, visible time over a URL month,
full-width digits, firstpublishedtime), a title whenever the page names one; and the two
gov.cn pages of corpus-gov: body once, date from <meta name="firstpublishedtime">."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hubwatch.text.extract import parse_page

FETCHED = datetime(2026, 1, 5, 4, tzinfo=UTC)
BODY = "<p>" + "区域协调发展取得新进展，各地持续推进重点任务落实。" * 4 + "</p>"


def _page(head: str = "", byline: str = "", body: str = BODY, url: str | None = None):
    html = f"<html><head>{head}</head><body><article><h1>示例标题</h1>{byline}{body}</article></body></html>"
    return parse_page(html.encode(), url=url, content_type="text/html; charset=utf-8", fetched_at=FETCHED)


@pytest.mark.parametrize(("byline", "author"), [
    ("<span class='author'>Xu Ying</span>", "Xu Ying"),
    ("<div class='article-byline'>By Mary Major</div>", "Mary Major"),
    ("<div itemprop='author' itemscope><meta itemprop='name' content='Jane Doe'></div>", "Jane Doe"),
    ("<a rel='author' href='/staff/roe'>John Roe</a>", "John Roe"),
    ("<p class='info'>作者：张三</p>", "张三"),
    ("<p class='info'>本报记者 李四</p>", "李四"),
    ("<p class='info'>文/王五</p>", "王五"),
    ("<div class='editor'>责任编辑：赵六</div>", None),
])
def test_author_from_markup_and_bylines_never_the_editor(byline, author):
    assert _page(byline=byline).author == author


def test_author_from_jsonld_wins():
    head = '<script type="application/ld+json">{"@type":"NewsArticle","author":[{"name":"周敏"}]}</script>'
    assert _page(head, "<span class='author'>Someone Else</span>").author == "周敏"


@pytest.mark.parametrize(("byline", "expected"), [
    ("<div class='info'>7小时前</div><div class='time'>2026-01-04 09:30</div>", "2026-01-04T09:30:00+08:00"),
    ("<div class='info'>today</div><div class='date'>January 3, 2026</div>", "2026-01-03T00:00:00+08:00"),
    ("<div class='time'>２０２６年１月３日 ０８：１５</div>", "2026-01-03T08:15:00+08:00"),
])
def test_absolute_and_full_width_dates_win(byline, expected):
    assert _page(byline=byline).published_at == datetime.fromisoformat(expected)


def test_relative_date_only_when_nothing_absolute():
    page = _page(byline="<div class='time'>3小时前</div>")
    assert page.published_at == datetime(2026, 1, 5, 9, tzinfo=datetime.fromisoformat("2026-01-05T09:00+08:00").tzinfo)
    assert page.published_precision == "hour"


def test_visible_date_with_time_beats_the_url_month():
    page = _page(byline="<div class='time'>2025-12-18 16:40</div>",
                 url="https://www.gov-like.example/zcwj/202512/t_1.html")
    assert page.published_at == datetime.fromisoformat("2025-12-18T16:40:00+08:00")
    other_month = _page(byline="<div class='time'>2025-11-02 16:40</div>",
                        url="https://www.gov-like.example/zcwj/202512/t_1.html")
    assert other_month.published_precision == "month"  # a caption date from elsewhere: the URL wins


def test_first_published_time_meta():
    page = _page('<meta name="firstpublishedtime" content="2025-12-28-21:50:00">',
                 url="https://www.gov-like.example/zhengce/202512/content_1.htm")
    assert page.published_at == datetime.fromisoformat("2025-12-28T21:50:00+08:00")


@pytest.mark.parametrize("head", ["<title>Only the title</title>", "<meta property='og:title' content='Only og'>"])
def test_title_never_empty_when_the_page_names_one(head):
    html = f"<html><head>{head}</head><body><div>{BODY}</div></body></html>"
    page = parse_page(html.encode(), url=None, content_type="text/html; charset=utf-8", fetched_at=FETCHED)
    assert page.title in ("Only the title", "Only og")
    html = f"<html><head><title> | </title></head><body><h1>Heading only</h1>{BODY}</body></html>"
    assert parse_page(html.encode(), url=None, content_type=None, fetched_at=FETCHED).title == "Heading only"


@pytest.mark.parametrize(("name", "url", "published", "first", "last"), [
    ("govcn_zhengceku_202609_content_7082302", "https://www.gov.cn/zhengce/zhengceku/202609/content_7082302.htm",
     "2026-09-28T21:50:00+08:00", "为贯彻落实党中央、国务院决策部署", "文化和旅游部"),
    ("govcn_gongbao_2007_content_711039", "https://www.gov.cn/gongbao/content/2007/content_711039.htm",
     "2007-08-20T23:59:59+08:00", "全国人民代表大会常务委员会", "53365.53亿元"),
])
def test_gov_cn_pages_full_body_once_and_first_published_time(shared_dir, name, url, published, first, last):
    body = (shared_dir / "corpus-gov" / "pages" / f"{name}.html").read_bytes()
    page = parse_page(body, url=url, content_type="text/html", fetched_at=datetime(2026, 10, 1, tzinfo=UTC))
    assert page.text.startswith(first) and last in page.text[-200:]
    paragraphs = [p for p in page.text.split("\n\n") if len(p) > 40]
    assert paragraphs and len(paragraphs) == len(set(paragraphs))  # the mobile-only copy is not read
    assert page.text.count(paragraphs[-1]) == 1
    assert page.published_at == datetime.fromisoformat(published)
    assert "https://www.gov.cn/" not in page.text
