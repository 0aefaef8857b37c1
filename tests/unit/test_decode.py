"""Decoding in a browser's order: cases 01, 02, 05 and the classes they stand for."""

from __future__ import annotations

import codecs
import gzip
import re

import pytest
from support.extract_cases import load_case

from hubwatch.text.decode import (
    DecodeError,
    decode_html,
    decode_xml,
    meta_charset,
    sniff_binary,
)

CN = "京津冀协同发展，粵港澳大灣區与长三角一体化，王喆评论。"  # 粵灣區喆 are outside GB2312


def _page(charset_tag: str, text: str = CN, filler: int = 0) -> str:
    script = "<script>/* " + "x" * filler + " */</script>" if filler else ""
    return f"<html><head>{script}{charset_tag}<title>{text[:7]}</title></head><body><p>{text}</p></body></html>"


# --- case 01: the only declaration sits late (after kilobytes of ASCII script) -------------

def test_case01_late_meta_gb2312(shared_dir):
    case = load_case(shared_dir, "01")
    decoded = decode_html(case.body, case.content_type)
    assert codecs.lookup(decoded.encoding).name == case.expected["expected"]["decoder_family"]
    assert "\ufffd" not in decoded.text
    assert case.expected["expected"]["title"] in decoded.text
    assert "Ã" not in decoded.text and "Ö÷" not in decoded.text


@pytest.mark.parametrize("filler", [2000, 20000, 100000])
@pytest.mark.parametrize("tag", ['<meta charset="gbk">', "<meta http-equiv='Content-Type' content='text/html;charset=GB2312'>",
                                 "<META CHARSET = gb2312 >", '<meta content="text/html; charset=gb2312">'])
def test_late_or_malformed_meta_is_found(tag, filler):
    body = _page(tag, filler=filler).encode("gb18030")
    decoded = decode_html(body, "text/html")
    assert (decoded.encoding, decoded.source) == ("gb18030", "meta")
    assert CN in decoded.text


# --- case 02: a gb2312 label on GBK bytes -------------------------------------------------

def test_case02_gb2312_label_gbk_bytes(shared_dir):
    case = load_case(shared_dir, "02")
    decoded = decode_html(case.body, case.content_type)
    assert decoded.encoding == "gb18030" and decoded.source == "http"
    for sentence in case.expected["expected"]["text_contains"]:
        assert sentence in decoded.text
    assert "\ufffd" not in decoded.text and "王喆" in decoded.text


@pytest.mark.parametrize("label", ["gb2312", "GBK", "x-gbk", "gb_2312-80", "GB18030"])
def test_chinese_labels_decode_as_gb18030(label):
    text = CN + "𠀀"  # a four-byte GB18030 character as well
    decoded = decode_html(_page("").encode("gb18030").replace(b"<p>", b"<p>") + text.encode("gb18030"),
                          f"text/html; charset={label}")
    assert decoded.encoding == "gb18030"
    assert text in decoded.text and "\ufffd" not in decoded.text


# --- a label the bytes contradict ---------------------------------------------------------

@pytest.mark.parametrize("where", ["http", "meta"])
def test_utf8_bytes_under_gb2312_label_are_utf8(where):
    body = _page('<meta charset="gb2312">' if where == "meta" else "").encode("utf-8")
    decoded = decode_html(body, "text/html; charset=gb2312" if where == "http" else None)
    assert decoded.encoding == "utf-8" and CN in decoded.text


def test_declared_utf8_on_gbk_bytes_is_overruled():
    body = _page('<meta charset="utf-8">', text=CN * 20).encode("gb18030")
    decoded = decode_html(body, None)
    assert decoded.source == "detected" and CN in decoded.text


def test_no_declaration_gbk_bytes_detected():
    body = _page("", text=CN * 20).encode("gb18030")
    decoded = decode_html(body, "text/html")
    assert CN in decoded.text and decoded.source == "detected"


# --- case 05: the BOM outranks header and meta --------------------------------------------

def test_case05_bom_beats_header(shared_dir):
    case = load_case(shared_dir, "05")
    decoded = decode_html(case.body, case.content_type)
    assert (decoded.encoding, decoded.source) == ("utf-8", "bom")
    assert not decoded.text.startswith("\ufeff") and "\ufffd" not in decoded.text
    assert case.expected["expected"]["title"] in decoded.text


@pytest.mark.parametrize("codec,bom", [("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
                                       ("utf-16-be", codecs.BOM_UTF16_BE)])
def test_bom_variants(codec, bom):
    body = bom + _page('<meta charset="gb2312">').encode(codec)
    decoded = decode_html(body, "text/html; charset=iso-8859-1")
    assert decoded.source == "bom" and decoded.text.startswith("<html>") and CN in decoded.text


# --- feeds: the XML declaration ---------------------------------------------------------------

def test_xml_declaration_decides_for_text_xml(shared_dir):
    feed = shared_dir / "cases" / "06-feed-textxml-no-charset-gb2312"
    body = next(p for p in feed.iterdir() if p.suffix == ".xml").read_bytes()
    decoded = decode_xml(body, "text/xml")
    assert decoded.encoding == "gb18030" and decoded.source == "xml"
    assert "\ufffd" not in decoded.text


def test_xml_declaration_own_feed():
    body = f'<?xml version="1.0" encoding="GB2312"?><rss><channel><title>{CN}</title></channel></rss>'.encode("gb18030")
    assert CN in decode_xml(body, "application/rss+xml").text


# --- binary bodies and junk -------------------------------------------------------------------

@pytest.mark.parametrize("body,name", [(b"%PDF-1.7\n...", "pdf"), (b"\x89PNG\r\n\x1a\n....", "png"),
                                       (gzip.compress(b"<html></html>"), "gzip"), (b"PK\x03\x04rest", "zip"),
                                       (b"\xff\xd8\xff\xe0JFIF", "jpeg")])
def test_sniff_binary(body, name):
    assert sniff_binary(body) == name


def test_sniff_binary_leaves_html_alone():
    assert sniff_binary(b"<!DOCTYPE html><html></html>") is None
    assert sniff_binary(codecs.BOM_UTF8 + b"<html>") is None


def test_nul_bytes_refused():
    with pytest.raises(DecodeError):
        decode_html(b"\x00\x01\x02" * 100, "text/html")


def test_meta_prescan_ignores_script_text():
    body = b"<script>var charset='utf-8';</script><meta charset=gbk>"
    assert meta_charset(body) == "gbk"


# --- the whole corpus: no U+FFFD introduced; raw GBK titles exact --------------------------

def test_corpus_decodes_without_replacement_characters(shared_dir):
    pages = sorted((shared_dir / "corpus").rglob("*.html"))
    assert len(pages) > 100
    for path in pages:
        body = path.read_bytes()
        text = decode_html(body, None).text
        assert text.count("\ufffd") <= body.count("\ufffd".encode()), path.name


def test_raw_gbk_titles(shared_dir):
    folder = shared_dir / "corpus" / "eval" / "cx-netease-gbk"
    for path in sorted(folder.glob("*.html")):
        if ".gold." in path.name:
            continue
        body = path.read_bytes()
        raw = re.search(rb"<title>(.*?)</title>", body, re.DOTALL).group(1)
        assert re.search(re.escape(raw.decode("gb18030").strip()), decode_html(body, "text/html").text), path.name


def test_damaged_bytes_keep_the_declared_charset():
    body = _page('<meta charset="gb2312">', text=CN * 10).encode("gb18030")
    damaged = body.replace("协同".encode("gb18030"), b"\xff\xfe", 1)
    decoded = decode_html(damaged, None)
    assert decoded.encoding == "gb18030" and decoded.source == "meta"
    assert decoded.text.count("\ufffd") <= 2 and CN in decoded.text


def test_utf8_label_on_damaged_utf8_stays_utf8():
    body = _page('<meta charset="utf-8">', text=CN * 10).encode("utf-8") + b"\xe4\xb8"  # truncated tail
    decoded = decode_html(body, None)
    assert decoded.encoding == "utf-8" and CN in decoded.text


def test_corpus_feeds_decode_cleanly(shared_dir):
    feeds = sorted((shared_dir / "corpus" / "feeds").glob("*.xml"))
    assert len(feeds) >= 8
    for path in feeds:
        body = path.read_bytes()
        decoded = decode_xml(body, "text/xml")
        assert decoded.text.count("\ufffd") <= body.count("\ufffd".encode()), path.name
        assert not decoded.text.startswith("\ufeff") and "<" in decoded.text[:100], path.name
