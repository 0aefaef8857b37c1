"""``hubwatch extract`` on attachment files and URLs: a PDF, a DOCX and an OFD print
their line with text, outcome, page count and mentions; a legacy .doc prints
``unsupported``."""

from __future__ import annotations

import json

import pytest
from support import docgen
from support.filesite import Site
from typer.testing import CliRunner

from hubwatch.cli.main import app


def lines(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.mark.skipif(docgen.CJK_FONT is None, reason="no CJK font for the test PDF")
def test_extract_attachment_files_and_url(tmp_path, shared_dir):
    pdf, docx, doc = tmp_path / "a.pdf", tmp_path / "b.docx", tmp_path / "c.doc"
    pdf.write_bytes(docgen.pdf())
    docx.write_bytes(docgen.docx())
    doc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 256)
    targets = [str(pdf), str(docx), str(doc)]
    ofd = shared_dir / "corpus-gov/attachments/ofdrw_n_gongwen_luweifa_2011_76.ofd"
    if ofd.is_file():
        targets.append(str(ofd))
    with Site({"/files/notice.pdf": (pdf.read_bytes(), "application/pdf")}) as site:
        targets.append(f"http://{site.host}/files/notice.pdf")
        records = lines(CliRunner().invoke(app, ["extract", "--format", "jsonl", *targets]))
    by_name = {(r["file"] or r["url"]).rsplit("/", 1)[1]: r for r in records}
    for name in ("a.pdf", "notice.pdf"):
        record = by_name[name]
        assert (record["outcome"], record["file_type"], record["page_count"]) == ("ok", "pdf", 1)
        assert {"gba", "bth", "yrd"} <= {m["entity"] for m in record["mentions"]}
    assert by_name["b.docx"]["file_type"] == "docx" and "长三角\t集成电路" in by_name["b.docx"]["text"]
    assert by_name["c.doc"]["outcome"] == "unsupported" and by_name["c.doc"]["text"] is None
    if ofd.is_file():
        record = by_name[ofd.name]
        assert record["page_count"] == 2 and "路卫发〔2011〕76号" in record["text"] and record["mentions"] == []
