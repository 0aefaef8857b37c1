"""Main text, title, zones and refusals: cases 01, 02, 05, 20, 22, 30 and their classes."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
from support.extract_cases import load_case

from hubwatch.text.extract import EXTRACTOR_VERSION, ExtractError, Page, parse_page

FETCHED = datetime(2025, 6, 18, 2, 15, tzinfo=UTC)


def _parse(html: str | bytes, url: str | None = "https://www.site.example/2025/0618/a.html", **kw) -> Page:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return parse_page(body, url=url, content_type=kw.pop("content_type", None), fetched_at=FETCHED, **kw)


@pytest.mark.parametrize("number", ["01", "02", "05"])
def test_decoding_cases_end_to_end(shared_dir, number):
    case = load_case(shared_dir, number)
    page = parse_page(case.body, **case.kwargs())
    expected = case.expected["expected"]
    assert page.title == expected["title"]
    for sentence in expected["text_contains"]:
        assert sentence in page.text
    assert "\ufffd" not in page.title + page.text
    assert not page.title.startswith("\ufeff") and not page.text.startswith("\ufeff")
    if "language" in expected:
        assert page.language == expected["language"]
    if "author" in expected:
        assert page.author == expected["author"]


def test_case20_related_links_and_navigation_are_boilerplate(shared_dir):
    case = load_case(shared_dir, "20")
    page = parse_page(case.body, **case.kwargs())
    main = case.expected["expected"]["main_text"]
    assert page.title == main[0]
    for paragraph in main[1:]:
        assert paragraph in page.text
    for junk in case.expected["expected"]["main_text_excludes"]:
        assert junk not in page.title + page.text
    assert (page.title + page.text).count("长三角") == 2
    assert any("粤港澳大湾区" in block for block in page.boilerplate)


RELATED_VARIANTS = [
    '<div class="xgxw"><h3>相关阅读</h3><ul>{items}</ul></div>',
    '<aside><ul>{items}</ul></aside>',
    '<div id="recommend-list"><ul>{items}</ul></div>',
    '<ul class="list">{items}</ul>',  # no telling class: the link density decides
    '<footer><p>主办单位：示例网</p><ul>{items}</ul></footer>',
]


@pytest.mark.parametrize("wrapper", RELATED_VARIANTS)
def test_related_lists_in_many_shapes_stay_out(wrapper):
    items = "".join(f'<li><a href="/a/{i}.html">京津冀协同发展新闻标题第{i}条</a></li>' for i in range(6))
    html = (f'<html><head><title>长三角一体化加快推进_示例网</title></head><body>'
            f'<div class="nav"><a href="/">首页</a><a href="/gba/">粤港澳大湾区</a></div>'
            f'<div class="article"><h1>长三角一体化加快推进</h1>'
            f'<p>长三角三省一市近日召开会议，研究推进一体化发展，提出多项具体举措，涵盖交通、产业与公共服务。</p>'
            f'<p>会议要求，各地要加强协同，形成合力，推动重点项目尽快落地见效，切实提升区域整体竞争力。</p></div>'
            f'{wrapper.format(items=items)}</body></html>')
    page = _parse(html)
    assert page.title == "长三角一体化加快推进"
    assert "京津冀" not in page.text and "粤港澳" not in page.text
    assert page.text.count("\n\n") == 1 and "形成合力" in page.text


def test_case22_inline_tags_do_not_split_names(shared_dir):
    case = load_case(shared_dir, "22")
    page = parse_page(case.body, **case.kwargs())
    for sentence in case.expected["expected"]["text_contains"]:
        assert sentence in page.text
    for broken in case.expected["expected"]["text_must_not_contain"]:
        assert broken not in page.text
    assert page.text.count("\n\n") == 2  # three paragraphs, kept apart


def test_inline_and_block_boundaries():
    html = ("<html><body><div><p>第一段：<b>粤</b><i>港</i><u>澳</u><font>大湾区</font>"
            "<span>建设</span><a href='/x'>提速</a>，并且继续推进相关工作。</p>"
            "<div>第二段<div>嵌套块</div>块尾文字，不与下一块相连。</div><p>第三段\n换行 拼接，English\nwords stay apart.</p>"
            "<p>第四段<br>换行后的第五段，内容较长一些。</p><img alt='图片说明京津冀'></div></body></html>")
    text = _parse(html).text
    assert "粤港澳大湾区建设提速" in text
    assert "块尾文字，不与下一块相连。\n\n第三段换行 拼接，English words stay apart." in text
    assert "嵌套块\n\n块尾文字" in text
    assert "第四段\n\n换行后的第五段" in text
    assert "京津冀" not in text


def test_ideographic_space_kept_inside_lines_dropped_at_edges():
    text = _parse("<html><body><p>　　本报北京6月18日电　记者获悉，相关工作正在推进，进展顺利。</p></body></html>").text
    assert text == "本报北京6月18日电　记者获悉，相关工作正在推进，进展顺利。"


def test_case30_placeholder_pages_refused(shared_dir):
    folder = shared_dir / "cases" / "30-version-flap-error-page"
    for name in ("fetch2-waf.html", "fetch3-503.html"):
        with pytest.raises(ExtractError) as info:
            _parse((folder / name).read_bytes())
        assert info.value.outcome == "blocked_page"
    page = _parse((folder / "fetch1.html").read_bytes())
    assert page.title == "长三角一体化发展年度报告发布" and "阅读次数" not in page.text


@pytest.mark.parametrize("html", [
    "<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1><p>Reference #18.2f</p></body></html>",
    "<html><body><p>请开启JavaScript并刷新该页.</p></body></html>",
    "<html><head><title>Just a moment...</title></head><body><p>Checking your browser.</p></body></html>",
    "<html><body><div class='captcha'><p>请输入验证码以继续访问</p></div></body></html>",
])
def test_challenge_markers(html):
    with pytest.raises(ExtractError) as info:
        _parse(html)
    assert info.value.outcome == "blocked_page"


def test_long_article_mentioning_captcha_is_not_blocked():
    paragraph = "<p>验证码技术被广泛用于网站安全，本文讨论其发展历史、常见形式与可用性问题，并介绍相关研究进展。</p>"
    page = _parse(f"<html><head><title>验证码的前世今生</title></head><body>{paragraph * 8}</body></html>")
    assert page.text.count("验证码") == 8


def test_binary_bodies_refused():
    for body in (b"%PDF-1.4 binary", gzip.compress(b"<html><body>x</body></html>"), b"\x89PNG\r\n\x1a\nxx"):
        with pytest.raises(ExtractError) as info:
            _parse(body, content_type="text/html")
        assert info.value.outcome == "binary"


def test_nul_bytes_are_a_decode_error():
    with pytest.raises(ExtractError) as info:
        _parse(b"<html>\x00\x00\x00\x00</html>")
    assert info.value.outcome == "decode_error"


@pytest.mark.parametrize("depth", [600, 5_000, 200_000])
def test_deep_nesting_refused_within_bounds(depth):
    body = b"<html><body>" + b"<div>" * depth + b"deep" + b"</div>" * depth + b"</body></html>"
    with pytest.raises(ExtractError) as info:
        _parse(body)
    assert info.value.outcome == "parse_limit"


def test_moderate_nesting_parsed():
    body = "<html><body>" + "<div>" * 100 + "<p>深处的正文，内容完整，可以读取。</p>" + "</div>" * 100 + "</body></html>"
    assert "深处的正文" in _parse(body).text


def test_byte_cap():
    with pytest.raises(ExtractError) as info:
        _parse(b"<html><body>" + b"<p>x</p>" * 1000 + b"</body></html>", max_bytes=4000)
    assert info.value.outcome == "parse_limit"


def test_empty_and_textless_bodies():
    assert _parse(b"").text == ""
    assert _parse(b"<html><body><script>var a=1;</script></body></html>").text == ""


@pytest.mark.parametrize("raw,h1,expected", [
    ("八部委如何玩转互联网+_网易财经", None, "八部委如何玩转互联网+"),
    ("Outlook for the Greater Bay Area | Example Daily", None, "Outlook for the Greater Bay Area"),
    ("新华网 - 李强在新疆调研时强调", "李强在新疆调研时强调", "李强在新疆调研时强调"),
    ("Green finance in the Yangtze River Delta - Opinion - Example", "Green finance in the Yangtze River Delta",
     "Green finance in the Yangtze River Delta"),
])
def test_titles_not_site_names(raw, h1, expected):
    heading = f"<h1>{h1}</h1>" if h1 else ""
    page = _parse(f"<html><head><title>{raw}</title></head><body>{heading}<p>正文内容，足够长。</p></body></html>")
    assert page.title == expected


@pytest.mark.parametrize("lang,body,expected", [
    ("en", "<p>长三角三省一市近日召开联席会议，研究推进科技创新共同体建设，提出共建共享重大科研设施。</p>", "zh"),
    ("zh-CN", "<p>The Greater Bay Area plan was discussed at length by delegates from three cities.</p>", "en"),
    ("en", "<p>The Greater Bay Area's role grows. 评论认为大湾区先行先试。 More English text follows here.</p>", "en"),
    ("zh", "<p>日本の経済について、専門家はさまざまな見方を示している。</p>", "ja"),
    ("", "<p>The Yangtze River Delta integration plan was discussed by many delegates today.</p>", "en"),
])
def test_language_from_text_when_lang_is_wrong(lang, body, expected):
    assert _parse(f"<html lang='{lang}'><body>{body}</body></html>").language == expected


def test_links_absolute_and_deduplicated():
    html = ("<html><head><base href='https://cdn.site.example/news/'></head><body>"
            "<a href='a.html'>A</a><a href='a.html#c'>A</a><a href='//o.example/b'>B</a>"
            "<a href='javascript:void(0)'>J</a><a href='mailto:x@y.z'>M</a></body></html>")
    assert _parse(html).links == ["https://cdn.site.example/news/a.html", "https://o.example/b"]


def test_extractor_version_is_set():
    assert EXTRACTOR_VERSION and isinstance(EXTRACTOR_VERSION, str)


def test_english_byline_author():
    html = ("<html><body><article><h1>Plan</h1><p class='byline'>By Jane Doe and John Roe</p>"
            "<p>The plan, which covers five years, was published today.</p></article></body></html>")
    assert _parse(html).author == "Jane Doe and John Roe"


def test_xhtml_with_xml_declaration():
    body = ('<?xml version="1.0" encoding="gb2312"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
            '<title>粤港澳大湾区建设</title></head><body><p>大湾区建设稳步推进，各项工作取得进展。</p></body></html>')
    page = _parse(body.encode("gb18030"))
    assert page.title == "粤港澳大湾区建设" and "稳步推进" in page.text


@pytest.mark.parametrize("head,byline,expected", [
    ('<meta name="author" content="105464">', "", None),  # a CMS id
    ('<meta name="author" content="示例网">', "", None),  # the site name from the title
    ("", "<p>记者 张三 李四 责任编辑：王五</p>", "张三 李四"),
    ("", "<p>原文：见下方链接，全文如下。</p>", None),
    ('<meta name="author" content="Alice Wu">', "", "Alice Wu"),
])
def test_author_plausibility(head, byline, expected):
    html = (f"<html><head><title>区域协调发展新进展_示例网</title>{head}</head><body><div class='article'>{byline}"
            "<p>区域协调发展取得新进展，各地积极推进重点项目建设，成效明显。</p></div></body></html>")
    assert _parse(html).author == expected


def test_encoding_reported(shared_dir):
    case = load_case(shared_dir, "02")
    assert parse_page(case.body, **case.kwargs()).encoding == "gb18030"


@pytest.mark.parametrize("raw,expected", [
    ("What the 15th Five-Year Plan means for the Greater Bay Area", None),
    ("克里斯蒂娜·莫拉莱斯谈供应短缺问题", None),
    ("在新时代中部地区崛起中争先出彩--经济·科技--人民网", "在新时代中部地区崛起中争先出彩"),
    ("Preventing the vulnerable from harm — Opinion — Example Daily", "Preventing the vulnerable from harm"),
])
def test_title_separators_need_context(raw, expected):
    page = _parse(f"<html><head><title>{raw}</title></head><body><p>正文内容，足够长。</p></body></html>")
    assert page.title == (expected or raw)
