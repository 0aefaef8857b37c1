"""Article structure kept (issue 11, point 3): tables one row per line with cells joined,
lists, <br> paragraphs, headings and block quotes inside the body, the document's own
link lists (attachments, sections); a related-stories list after the body left out.
Cases 50 (JSON-LD with raw control characters) and 52 (a table and an attachment list
in a notice) as tests of their classes."""

from __future__ import annotations

from datetime import UTC, datetime

from support.extract_cases import load_case, when

from hubwatch.config.settings import get_settings
from hubwatch.config.watchlist import load_watchlist
from hubwatch.mentions.match import Matcher
from hubwatch.text.extract import parse_page

FETCHED = datetime(2026, 1, 5, tzinfo=UTC)
PROSE = ("本市将进一步完善区域协调发展机制，推动重点领域改革取得新突破，形成更多可复制可推广的经验做法，"
         "为高质量发展提供有力支撑。")


def _page(body: str):
    return parse_page(body.encode(), url="https://www.city-gov.example/tzgg/202601/t20260105_1.html",
                      content_type="text/html; charset=utf-8", fetched_at=FETCHED)


def _notice(inner: str, after: str = "") -> str:
    return (f"<html><head><title>关于印发工作方案的通知</title></head><body>"
            f"<div class='nav'><a href='/'>首页</a> <a href='/zc/'>政策</a></div>"
            f"<div class='main'><h1>关于印发工作方案的通知</h1><div class='text'><p>{PROSE}</p>{inner}"
            f"<p>{PROSE[::-1]}</p></div>{after}</div><div class='footer'>主办单位：示例市人民政府</div></body></html>")


def test_table_rows_one_per_line_with_cells_joined_even_with_links():
    rows = "".join(f"<tr><td>{i}</td><td>任务{i}：推进协同发展</td><td>2026年{i}月底前</td>"
                   f"<td><a href='/zc/{i}.html'>《依据文件{i}》</a></td></tr>" for i in range(1, 6))
    page = _page(_notice(f"<table><tr><th>序号</th><th>任务</th><th>时限</th><th>依据</th></tr>{rows}</table>"))
    lines = page.text.split("\n\n")
    assert "序号 | 任务 | 时限 | 依据" in lines
    for i in range(1, 6):
        assert f"{i} | 任务{i}：推进协同发展 | 2026年{i}月底前 | 《依据文件{i}》" in lines
    assert page.text.endswith(PROSE[::-1])  # the text goes on after the table


def test_lists_br_paragraphs_headings_and_quotes_inside_the_body():
    inner = ("<h2>一、总体要求</h2><ul><li>坚持统筹兼顾，分类施策。</li><li>坚持问题导向，重点突破。</li></ul>"
             "<p>第一段落写在这里。<br>第二段落紧随其后。<br/>第三段落收尾。</p>"
             "<blockquote>引用的讲话内容在此，意义重大。</blockquote>")
    paragraphs = _page(_notice(inner)).text.split("\n\n")
    for part in ("一、总体要求", "坚持统筹兼顾，分类施策。", "坚持问题导向，重点突破。", "第一段落写在这里。",
                 "第二段落紧随其后。", "第三段落收尾。", "引用的讲话内容在此，意义重大。"):
        assert part in paragraphs


def test_own_link_lists_stay_and_related_stories_after_the_body_go():
    attachments = ("<p>附件：</p><ul><li><a href='/zc/fj1.pdf'>附件1：重点项目清单</a></li>"
                   "<li><a href='/zc/fj2.docx'>附件2：进度报表</a></li></ul>"
                   "<ul><li><a href='#s1'>第一部分 总体要求</a></li><li><a href='#s2'>第二部分 主要任务</a></li></ul>")
    related = ("<div class='related'><h3>相关阅读</h3><ul><li><a href='/a/1.html'>另一座城市发布人才新政</a></li>"
               "<li><a href='/a/2.html'>三地签署新一轮合作协议</a></li></ul></div>")
    text = _page(_notice(attachments, related)).text
    for part in ("附件1：重点项目清单", "附件2：进度报表", "第一部分 总体要求", "第二部分 主要任务"):
        assert part in text
    assert "人才新政" not in text and "合作协议" not in text and "主办单位" not in text


def test_case_52_table_and_attachment_list_in_a_notice(shared_dir):
    case = load_case(shared_dir, "52")
    page = parse_page(case.body, **case.kwargs())
    expected = case.expected["expected"]["page"]
    assert page.title == expected["title"]
    for snippet in expected["text_contains"]:
        assert snippet in page.text
    for snippet in expected["text_not_contains"]:
        assert snippet not in page.text
    counts: dict[str, int] = {}
    for m in Matcher(load_watchlist(get_settings().watchlist_file)).find(page.title, page.text):
        if m.zone == "body":
            counts[m.entity] = counts.get(m.entity, 0) + 1
    for entity, least in expected["body_mention_counts_min"].items():
        assert counts.get(entity, 0) >= least, entity


def test_jsonld_with_raw_control_characters_is_read():
    jsonld = ('{"@type": "NewsArticle", "headline": "标题",\n"description": "第一行\n第二行",'
              '"datePublished": "2026-01-04T09:30:00+08:00", "author": {"name": "李明"},'
              '"articleBody": "一\t二"}')
    body = (f"<html><head><title>标题</title><script type='application/ld+json'>{jsonld}</script></head>"
            f"<body><article><p>{PROSE}</p></article></body></html>")
    page = _page(body)
    assert page.published_at == datetime.fromisoformat("2026-01-04T09:30:00+08:00")
    assert page.author == "李明"
    assert "一\t二" not in page.text


def test_case_50_jsonld_control_characters(shared_dir):
    case = load_case(shared_dir, "50")
    page = parse_page(case.body, **case.kwargs())
    expected = case.expected["expected"]["page"]
    assert page.title == expected["title"]
    assert page.published_at == when(expected["published_at"])
    assert page.author == expected["author"]
    assert "资格互认	二" not in page.text and "articleBody" not in page.text
    found = {m.entity for m in Matcher(load_watchlist(get_settings().watchlist_file)).find(page.title, page.text)}
    assert set(expected["entities"]) <= found
