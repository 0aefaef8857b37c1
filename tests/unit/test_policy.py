"""The official-document record: each template the portals use, the value rules, and
the real gov.cn policy-library page of the shared corpus-gov."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from hubwatch.text.extract import parse_page
from hubwatch.text.policy import normalise_number, parse_day

FETCHED = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
BODY = ("<p>" + "为推动京津冀协同发展和粤港澳大湾区建设，现就有关事项通知如下。" * 4 + "</p>"
        "<p>" + "各地区各部门要结合实际认真贯彻落实，确保各项政策措施落地见效。" * 3 + "</p>")
LABEL_WORDS = ("发文机关", "发文字号", "主题分类", "公文种类", "成文日期", "发布单位", "发布文号",
               "发文日期", "信息来源", "发布日期", "索引号", "有效性")


def page(block: str, head: str = "", url: str = "https://www.example.gov.cn/a/content_1.htm"):
    html = (f"<html><head><title>关于推动创新的通知</title>{head}</head><body>"
            f"<div class='header'><a href='/'>首页</a></div><h1>关于推动创新的通知</h1>"
            f"{block}<div class='content'>{BODY}</div></body></html>")
    return parse_page(html.encode("utf-8"), url=url, content_type="text/html; charset=utf-8",
                      fetched_at=FETCHED)


def assert_labels_out(text: str) -> None:
    assert [w for w in LABEL_WORDS if w in text] == []
    assert "京津冀协同发展" in text


def test_gov_table_and_mobile_list():
    bodies = "\u2002".join(["国务院办公厅", "国家发展改革委", "科技部"])
    table = (f"<table><tr><td>索<span>&nbsp;</span>引<span>&nbsp;</span>号：</td><td>000014349/2026-00012</td>"
             f"<td>主题分类：</td><td>科技、教育\\科技</td></tr>"
             f"<tr><td>发文机关：</td><td>{bodies}</td><td>成文日期：</td><td>2026年03月02日</td></tr>"
             f"<tr><td>标<span>&nbsp;&nbsp;</span>题：</td><td>关于推动创新的通知</td></tr>"
             f"<tr><td>发文字号：</td><td>国办发 [ ２０２６ ] 5号</td><td>发布日期：</td><td>2026年03月05日</td></tr>"
             f"<tr><td>公文种类：</td><td>通知</td><td>有效性：</td><td>有效</td></tr></table>")
    mobile = (f"<ul class='mobileTable'><li><span>发文机关：</span><span>{bodies}</span></li>"
              f"<li><span>发文字号：</span><span>国办发〔2026〕5号</span></li>"
              f"<li><span>公文种类：</span><span>通知</span></li></ul>")
    got = page(table + mobile)
    assert got.policy.as_dict() == {
        "issuing_bodies": ["国务院办公厅", "国家发展改革委", "科技部"], "document_number": "国办发〔2026〕5号",
        "source_organ": None, "document_type": "通知", "topic": ["科技、教育", "科技"],
        "written_on": "2026-03-02", "published_on": "2026-03-05",
        "index_number": "000014349/2026-00012", "validity": "有效"}
    assert_labels_out(got.text)


def test_bracketed_label_lines():
    block = ("<div class='info'>【发布单位】上海市人民政府办公厅、上海市科学技术委员会<br>"
             "【发布文号】沪府办发（2026）3号<br>【发文日期】2026-02-10</div>")
    got = page(block)
    assert got.policy.issuing_bodies == ["上海市人民政府办公厅", "上海市科学技术委员会"]
    assert got.policy.document_number == "沪府办发〔2026〕3号"
    assert got.policy.written_on == dt.date(2026, 2, 10)
    assert_labels_out(got.text)


def test_trs_hanweb_line_and_meta_tags():
    block = ("<div class='small-title'><span>发布日期：2026-01-08</span><span>浏览次数：</span>"
             "<span>信息来源：省发展改革委</span></div>")
    got = page(block, head="<meta name='ContentSource' content='其他来源'>")
    assert (got.policy.published_on, got.policy.source_organ) == (dt.date(2026, 1, 8), "省发展改革委")
    assert_labels_out(got.text)


def test_meta_fills_in_what_the_block_lacks():
    block = "<p class='info'>日期：2026-02-26 11:54 来源：</p>"
    got = page(block, head="<meta name='ContentSource' content='产业处'><meta name='PubDate' content='2026-03-27'>")
    assert (got.policy.published_on, got.policy.source_organ) == (dt.date(2026, 2, 26), "产业处")
    got = page("<p>文号：京政发〔2026〕1号 成文日期：2026-01-02</p>",
               head="<meta name='firstpublishedtime' content='2026-01-05-21:50:00'>")
    assert got.policy.published_on == dt.date(2026, 1, 5)
    assert got.published_at == dt.datetime(2026, 1, 5, 21, 50, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_no_block_no_record():
    assert page("").policy is None
    # a byline with one label, or body text quoting a label, is not a block
    assert page("<p>来源：新华社</p>").policy is None
    got = page("<p>" + "本通知所称发文字号：是指公文编号。" * 30 + "</p>")
    assert got.policy is None and "发文字号" in got.text


def test_a_layout_table_around_the_page_stays():
    html = (f"<table><tr><td>发布日期：</td><td>2026-01-08</td><td>来源：</td><td>市政府</td></tr>"
            f"<tr><td colspan='4'>{BODY * 3}</td></tr></table>")
    got = page(html)
    assert got.policy.published_on == dt.date(2026, 1, 8)
    assert "京津冀协同发展" in got.text and "发布日期" not in got.text


@pytest.mark.parametrize("raw, want", [
    ("国发〔2025〕12号", "国发〔2025〕12号"), ("国发[2025]12号", "国发〔2025〕12号"),
    ("国发 （２０２５） １２ 号", "国发〔2025〕12号"), ("国发【2025】12号", "国发〔2025〕12号"),
    ("国发﹝2025﹞12号", "国发〔2025〕12号"), ("", None), ("无", None), (None, None)])
def test_document_numbers_in_one_form(raw, want):
    assert normalise_number(raw) == want


@pytest.mark.parametrize("raw, want", [
    ("2026年09月25日", dt.date(2026, 9, 25)), ("2026-9-5", dt.date(2026, 9, 5)),
    ("2026-09-28T17:00:00Z", dt.date(2026, 9, 29)), ("2026-13-40", None), ("无", None)])
def test_dates_are_shanghai_days(raw, want):
    assert parse_day(raw) == want


@pytest.fixture
def corpus_gov() -> Path:
    shared = os.environ.get("HUBWATCH_SHARED")
    if not shared or not (Path(shared) / "corpus-gov").is_dir():
        pytest.skip("HUBWATCH_SHARED/corpus-gov not available")
    return Path(shared) / "corpus-gov"


def _real(corpus_gov: Path, name: str, url: str):
    return parse_page((corpus_gov / "pages" / name).read_bytes(), url=url, content_type=None,
                      fetched_at=FETCHED)


def test_gov_policy_library_page(corpus_gov):
    got = _real(corpus_gov, "govcn_zhengceku_202609_content_7082302.html",
                "https://www.gov.cn/zhengce/zhengceku/202609/content_7082302.htm")
    record = got.policy
    assert record.issuing_bodies == ["中国人民银行", "金融监管总局", "中国证监会", "国家发展改革委",
                                     "工业和信息化部", "财政部", "商务部", "文化和旅游部"]
    assert record.topic == ["财政、金融、审计", "其他"]
    assert (record.document_type, record.document_number) == ("意见", None)
    assert (record.written_on, record.published_on) == (dt.date(2026, 9, 25), dt.date(2026, 9, 28))
    assert record.source_organ == "中国人民银行网站"
    assert [w for w in ("发文机关", "发文字号", "主题分类", "公文种类", "成文日期", "中国人民银行网站")
            if w in got.text] == []
    assert "促进服务业优质高效发展" in got.text


def test_gov_policy_library_body_once(corpus_gov):
    got = _real(corpus_gov, "govcn_zhengceku_202609_content_7082302.html",
                "https://www.gov.cn/zhengce/zhengceku/202609/content_7082302.htm")
    assert got.text.count("促进服务业优质高效发展") == 1


def test_hanweb_and_trs_pages(corpus_gov):
    zj = _real(corpus_gov, "zj_fgw_art_1621004_30332664.html",
               "http://fgw.zj.gov.cn/art/2016/11/22/art_1621004_30332664.html")
    assert (zj.policy.published_on, zj.policy.source_organ) == (dt.date(2016, 11, 22), "省发改委")
    assert "发布日期" not in zj.text and "信息来源" not in zj.text and "固定资产投资" in zj.text
    gansu = _real(corpus_gov, "gansu_fzgg_tzgg_174084153.shtml.html", None)
    assert (gansu.policy.published_on, gansu.policy.source_organ) == (dt.date(2025, 2, 26), "产业处")
    gazette = _real(corpus_gov, "govcn_gongbao_2007_content_711039.html",
                    "https://www.gov.cn/gongbao/content/2007/content_711039.htm")
    assert gazette.policy is None and "特别国债" in gazette.text
