"""Short furniture lines inside the article's own element (pages written here): the page's
controls (font size, back to top) and a date line that goes on with the source or the
author are metadata, never main text; prose that merely starts with the same words stays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hubwatch.text.extract import parse_page

FETCHED = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)
PROSE = [
    "长三角三省一市近日签署协议，共同推进G60科创走廊建设，重点在集成电路、人工智能和生物医药领域开展合作。",
    "协议提出，到2027年走廊内将建成一批跨区域的创新平台，并实现科技资源的开放共享和创新券的通用通兑。",
]


def _text(lines: list[str]) -> list[str]:
    body = "".join(f"<p>{line}</p>" for line in lines)
    html = (f"<html><head><title>G60科创走廊</title></head><body><div class='article'>"
            f"<h1>G60科创走廊</h1>{body}</div></body></html>")
    page = parse_page(html.encode(), url="https://news.example.cn/2026/0520/d.html",
                      content_type="text/html; charset=utf-8", fetched_at=FETCHED)
    return page.text.split("\n\n")


@pytest.mark.parametrize("line", [
    "【字体：大 中 小】", "字体：小大", "调整字体", "返回顶部", "回到顶部", "Back to top",
    "2020-10-04 20:30 来源: 长江网", "2017-03-10 09:58:03来源：网易科学人作者：", "2015-07-03 04:09:59\u3000来源: 日报",
    "2024年5月20日 作者：张三",
])
def test_furniture_lines_are_not_main_text(line):
    assert _text([line, *PROSE, line]) == PROSE


@pytest.mark.parametrize("line", [
    "字体设计是一门学问，方正和汉仪都在长三角设有研发中心。",
    "顶部的观景平台将于明年开放。",
    "2024年5月20日，三地的编辑记者共同完成了这组报道。",
])
def test_prose_starting_like_furniture_stays(line):
    assert _text([*PROSE, line]) == [*PROSE, line]
