"""The publisher's summary as the article's lead: counted only when it was cut from this
article's body and says more than the body does (an edit made in one place only)."""

from __future__ import annotations

import datetime as dt

import pytest

from hubwatch.text.extract import parse_page

NOW = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
BODY = ["5月9日，国务院新闻办举行系列主题新闻发布会，河南省有关负责同志介绍了相关情况。",
        "河南省委副书记、省长王凯说，牢记嘱托，锚定奋斗目标，河南实现了三个转变。",
        "王凯表示，河南将一以贯之贯彻落实中部地区崛起座谈会精神，推动高质量发展。"]


def _page(description: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in BODY)
    return (f'<html><head><meta charset="utf-8"><title>河南推动高质量发展</title>'
            f'<meta name="description" content="{description}"></head><body>'
            f"<article>{paragraphs}</article></body></html>")


def test_summary_that_adds_a_sentence_to_the_body_start_is_kept():
    inserted = "“十五五”期间，粤港澳大湾区将加快建设国际科技创新中心。"
    desc = BODY[0][:30] + inserted + BODY[0][30:] + "　　" + BODY[1][:20]
    page = parse_page(_page(desc).encode(), url=None, content_type=None, fetched_at=NOW)
    assert inserted in page.text
    assert page.text.count("介绍了相关情况") == 1, "sentences the body has are not repeated"


@pytest.mark.parametrize("desc", [
    BODY[0] + BODY[1][:25],                          # cut from the body: nothing new
    "河南推动高质量发展,新闻发布会,河南,高质量发展,中部崛起",  # title and keywords
    BODY[0][:20] + "另有一句摘要，但被截断在半途……",          # truncated summary
    "",
])
def test_other_summaries_add_nothing(desc):
    page = parse_page(_page(desc).encode(), url=None, content_type=None, fetched_at=NOW)
    assert page.text == "\n\n".join(BODY)
