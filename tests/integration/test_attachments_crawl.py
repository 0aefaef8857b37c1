"""Attachments end to end on a local site: a policy page linking a PDF, a DOCX and the two
real OFDs of corpus-gov. One crawl stores the page and four attachment documents linked to
it; a second crawl asks conditionally and stores nothing new; an edited PDF gives version 2
of that attachment only. Hostile files are recorded with their cause and the run goes on."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
from support import docgen
from support.filesite import Site

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.models.analytics import refresh_analytics
from hubwatch.pipeline.ingest import Pipeline

pytestmark = pytest.mark.skipif(docgen.CJK_FONT is None, reason="no CJK font for the test PDF")

PAGE = """<html><head><title>关于印发创新措施的通知</title></head><body>
<h1>关于印发创新措施的通知</h1>
<table><tr><td>发文机关：</td><td>示例省人民政府办公厅</td><td>发文字号：</td><td>示政办发〔2026〕9号</td></tr>
<tr><td>公文种类：</td><td>通知</td><td>成文日期：</td><td>2026年10月20日</td></tr></table>
<div class="content"><p>{body}</p>
<p>附件：<a href="/files/measures.pdf">创新措施全文</a>
<a href="/files/form.docx">申报表</a>
<a href="/files/gongwen.ofd">公文样本</a>
<a href="/files/letter.ofd">函</a>{extra}</p></div></body></html>"""
BODY = "现将《关于支持长三角科技创新的若干措施》印发给你们，请结合实际认真贯彻落实。" * 4


def site_files(shared_dir, extra_links: str = "", **more) -> dict[str, tuple[bytes, str]]:
    ofd = shared_dir / "corpus-gov/attachments"
    if not ofd.is_dir():
        pytest.skip("corpus-gov not in HUBWATCH_SHARED")
    files = {
        "/zc/notice.html": (PAGE.format(body=BODY, extra=extra_links).encode(), "text/html; charset=utf-8"),
        "/files/measures.pdf": (docgen.pdf(), "application/pdf"),
        "/files/form.docx": (docgen.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        "/files/gongwen.ofd": ((ofd / "ofdrw_n_gongwen_luweifa_2011_76.ofd").read_bytes(), "application/ofd"),
        "/files/letter.ofd": ((ofd / "ofdrw_bengbu_letter_2023.ofd").read_bytes(), "application/octet-stream"),
    }
    files.update(more)
    return files


def crawl(engine, site: Site) -> Pipeline:
    source = SourceConfig(slug="local-gov", name="Local gov", kind="policy", language="zh",
                          allowed_hosts=[site.host], delay_seconds=0,
                          discovery=[Discovery(type="feed", url=f"http://{site.host}/feed.xml")])
    pipeline = Pipeline.open(sessionmaker(engine), [source], load_watchlist(get_settings().watchlist_file))
    with Fetcher(FetchSettings(host_delay=0, retries=0)) as fetcher:
        pipeline.fetch_and_store([f"http://{site.host}/zc/notice.html"], fetcher, source)
    return pipeline


def rows(engine, sql: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql)).mappings()]


def test_page_and_attachments_over_three_crawls(clean_db, shared_dir):
    engine = create_engine(clean_db)
    with Site(site_files(shared_dir)) as site:
        crawl(engine, site)
        docs = rows(engine, "SELECT document_id, url, source, kind, attachment_of FROM current_documents ORDER BY document_id")
        assert len(docs) == 5
        page = next(d for d in docs if d["url"].endswith("notice.html"))
        files = [d for d in docs if d is not page]
        assert all(d["attachment_of"] == page["document_id"] and d["source"] == "local-gov"
                   and d["kind"] == "policy" for d in files)
        assert page["attachment_of"] is None
        listed = {r["url"].rsplit("/", 1)[1]: r for r in rows(engine, "SELECT * FROM attachments")}
        assert {name: (r["file_type"], r["page_count"], r["link_text"], r["version_no"])
                for name, r in listed.items()} == {
            "measures.pdf": ("pdf", 1, "创新措施全文", 1), "form.docx": ("docx", None, "申报表", 1),
            "gongwen.ofd": ("ofd", 2, "公文样本", 1), "letter.ofd": ("ofd", 1, "函", 1)}
        assert listed["measures.pdf"]["bytes"] == len(site.files["/files/measures.pdf"][0])
        assert "路卫发〔2011〕76号" in listed["gongwen.ofd"]["text"]
        assert listed["letter.ofd"]["text"].startswith("关于加快南货场铁路涵洞下穿建设的函")
        mentions = rows(engine, "SELECT url, entity FROM current_mentions")
        by_file: dict[str, set] = {}
        for m in mentions:
            by_file.setdefault(m["url"].rsplit("/", 1)[1], set()).add(m["entity"])
        assert {"gba", "bth", "yrd"} <= by_file["measures.pdf"] and {"gba", "bth", "yrd"} <= by_file["form.docx"]
        assert "gongwen.ofd" not in by_file and "letter.ofd" not in by_file  # they name no watched entity
        with sessionmaker(engine).begin() as session:
            refresh_analytics(session)
        counted = {r["document_id"] for r in rows(engine, "SELECT document_id FROM document_entities")}
        assert {listed["measures.pdf"]["document_id"], listed["form.docx"]["document_id"]} <= counted

        site.log.clear()
        crawl(engine, site)  # second crawl: conditional requests, nothing new
        asked = sorted(entry for entry in site.log if entry[0] != "/robots.txt")
        assert asked == sorted((p, 304) for p in site.files)
        assert rows(engine, "SELECT count(*) AS n FROM document_version")[0]["n"] == 5

        edited = docgen.pdf(lines=(*docgen.PDF_LINES, "三、新增条款：支持雄安新区建设。"))
        site.files["/files/measures.pdf"] = (edited, "application/pdf")
        crawl(engine, site)  # the page answers 304; its stored files are asked again
    versions = {r["url"].rsplit("/", 1)[1]: r["versions"] for r in rows(
        engine, "SELECT d.canonical_url AS url, count(v.id) AS versions FROM document d "
                "JOIN document_version v ON v.document_id = d.id GROUP BY d.canonical_url")}
    assert versions == {"notice.html": 1, "measures.pdf": 2, "form.docx": 1, "gongwen.ofd": 1, "letter.ofd": 1}
    (pdf,) = rows(engine, "SELECT version_no, text FROM attachments WHERE file_type = 'pdf'")
    assert pdf["version_no"] == 2 and "雄安新区" in pdf["text"]
    engine.dispose()


def test_bad_files_are_recorded_with_their_cause(clean_db, shared_dir):
    bad = {"/files/locked.pdf": (docgen.pdf(password="secret"), "application/pdf"),
           "/files/broken.docx": (docgen.corrupt_docx(), "application/octet-stream"),
           "/files/bomb.ofd": (docgen.ofd_zip_bomb(300), "application/ofd"),
           "/files/scan.pdf": (docgen.scanned_pdf(), "application/pdf"),
           "/files/old.doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "application/msword")}
    links = "".join(f'<a href="{path}">{path}</a>' for path in bad)
    engine = create_engine(clean_db)
    with Site(site_files(shared_dir, links, **bad)) as site:
        crawl(engine, site)
    outcomes = {r["url"].rsplit("/", 1)[1]: (r["outcome"], r["error_message"]) for r in rows(
        engine, "SELECT requested_url AS url, outcome, error_message FROM snapshot")}
    assert outcomes["locked.pdf"][0] == "unsupported" and "encrypted" in outcomes["locked.pdf"][1]
    assert outcomes["broken.docx"][0] == "decode_error"
    assert outcomes["bomb.ofd"][0] == "parse_limit" and "zip bomb" in outcomes["bomb.ofd"][1]
    assert outcomes["scan.pdf"][0] == "no_text"
    assert outcomes["old.doc"][0] == "unsupported"
    # the run went on: the page and the four good files are stored
    assert rows(engine, "SELECT count(*) AS n FROM current_documents")[0]["n"] == 5
    engine.dispose()
