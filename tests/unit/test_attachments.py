"""Attachment text on files made here (a Chinese PDF with a table, a DOCX) and the two real
OFD files of corpus-gov; each hostile file is recorded with its cause, within the limits."""

from __future__ import annotations

import datetime as dt

import pytest
from support import docgen

from hubwatch.text.attachments import (
    AttachmentError,
    Limits,
    extract_attachment,
    file_type_of,
    sniff_type,
)
from hubwatch.text.extract import parse_page

needs_font = pytest.mark.skipif(docgen.CJK_FONT is None, reason="no CJK font (apt-get install fonts-wqy-microhei)")


def outcome_of(body: bytes, kind: str, **limits) -> tuple[str, str]:
    with pytest.raises(AttachmentError) as caught:
        extract_attachment(body, kind, Limits(**limits))
    return caught.value.outcome, caught.value.message


@needs_font
def test_pdf_text_and_table():
    body = docgen.pdf(pages=2)
    assert sniff_type(body) == "pdf"
    found = extract_attachment(body, "pdf")
    assert found.page_count == 2
    assert found.text.count("粤港澳大湾区国际科技创新中心") == 2
    assert "长三角" in found.text and "集成电路" in found.text and "第2页" in found.text


def test_docx_paragraphs_and_table_in_order():
    found = extract_attachment(docgen.docx(), "docx")
    assert found.page_count is None
    lines = found.text.split("\n\n")
    assert lines[0] == docgen.PDF_LINES[0]
    assert lines[-2:] == ["长三角\t集成电路", "京津冀\t人工智能"]


def test_real_ofd_files(shared_dir):
    folder = shared_dir / "corpus-gov/attachments"
    if not folder.is_dir():
        pytest.skip("corpus-gov not in HUBWATCH_SHARED")
    gongwen = (folder / "ofdrw_n_gongwen_luweifa_2011_76.ofd").read_bytes()
    assert sniff_type(gongwen) == "ofd"
    found = extract_attachment(gongwen, "ofd")
    assert found.page_count == 2
    assert "路卫发〔2011〕76号" in found.text and "关于同意张阿三同志辞职的批复" in found.text
    letter = extract_attachment((folder / "ofdrw_bengbu_letter_2023.ofd").read_bytes(), "ofd")
    assert letter.page_count == 1
    assert letter.text.startswith("关于加快南货场铁路涵洞下穿建设的函") and "2023年7月12日" in letter.text


@needs_font
def test_encrypted_pdf_is_unsupported():
    outcome, message = outcome_of(docgen.pdf(password="secret"), "pdf")
    assert outcome == "unsupported" and "encrypted" in message


def test_scanned_pdf_has_no_text():
    outcome, _ = outcome_of(docgen.scanned_pdf(), "pdf")
    assert outcome == "no_text"


def test_huge_page_tree_is_a_parse_limit():
    outcome, message = outcome_of(docgen.page_tree_pdf(5000), "pdf", max_pages=2000)
    assert outcome == "parse_limit" and "5000 pages" in message


def test_stream_bomb_stops_at_the_memory_limit():
    outcome, message = outcome_of(docgen.stream_bomb_pdf(512), "pdf", memory_mib=256, seconds=30)
    assert outcome == "parse_limit" and "256 MiB" in message


def test_corrupt_docx_is_a_decode_error():
    outcome, _ = outcome_of(docgen.corrupt_docx(), "docx")
    assert outcome == "decode_error"
    outcome, _ = outcome_of(b"PK\x03\x04" + b"\x00" * 200, "docx")
    assert outcome == "decode_error"


def test_ofd_zip_bomb_is_a_parse_limit():
    outcome, message = outcome_of(docgen.ofd_zip_bomb(300), "ofd", max_unpacked_bytes=200 * 1024 * 1024)
    assert outcome == "parse_limit" and "zip bomb" in message


@pytest.mark.parametrize("kind", ["doc", "wps", "xls", "xlsx"])
def test_legacy_and_spreadsheet_formats_are_unsupported(kind):
    assert outcome_of(b"\xd0\xcf\x11\xe0" + b"\x00" * 64, kind)[0] == "unsupported"


def test_attachment_links_of_a_page():
    html = ("<html><body><h1>关于印发措施的通知</h1><p>" + "各有关单位：现将措施印发给你们。" * 10 + "</p>"
            "<p>附件：<a href='files/a.pdf'>《措施》全文</a> <a href='/up/b.DOCX'>申报表</a>"
            " <a href='c.ofd?x=1'>OFD版</a> <a href='d.wps'>旧版</a> <a href='e.html'>页面</a>"
            " <a href='files/a.pdf#page=2'>重复</a></p></body></html>")
    page = parse_page(html.encode(), url="https://www.example.gov.cn/tzgg/1/index.shtml",
                      content_type="text/html; charset=utf-8", fetched_at=dt.datetime.now(dt.UTC))
    assert [(a.url, a.link_text, a.file_type) for a in page.attachments] == [
        ("https://www.example.gov.cn/tzgg/1/files/a.pdf", "《措施》全文", "pdf"),
        ("https://www.example.gov.cn/up/b.DOCX", "申报表", "docx"),
        ("https://www.example.gov.cn/tzgg/1/c.ofd?x=1", "OFD版", "ofd"),
        ("https://www.example.gov.cn/tzgg/1/d.wps", "旧版", "wps")]
    assert file_type_of("/a/B.XLSX") == "xlsx" and file_type_of("/a/b.html") is None


def test_gansu_page_links_its_pdf_by_a_relative_path(shared_dir):
    path = shared_dir / "corpus-gov/pages/gansu_fzgg_tzgg_174084153.shtml.html"
    if not path.is_file():
        pytest.skip("corpus-gov not in HUBWATCH_SHARED")
    page = parse_page(path.read_bytes(), url="https://fzgg.gansu.gov.cn/fzgg/tzgg/202503/174084153.shtml",
                      content_type=None, fetched_at=dt.datetime.now(dt.UTC))
    (link,) = page.attachments
    assert link.url == ("https://fzgg.gansu.gov.cn/fzgg/tzgg/202503/174084153/files/"
                        "5e0f97363d1d413c968a35078e0a7fcf.pdf")
    assert link.file_type == "pdf" and "加力支持工业企业设备更新" in link.link_text
