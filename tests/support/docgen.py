"""Small attachment files made for tests: PDFs with Chinese text (fpdf2 and a CJK font
from Debian's fonts-wqy-microhei), DOCX files (python-docx), and hostile files (page
bombs, a stream bomb, an encrypted PDF, a corrupt DOCX, an OFD zip bomb).

``CJK_FONT`` is None when the font is not installed (``.ci/run`` installs it); tests that
need a Chinese PDF skip then.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                   "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
CJK_FONT = next((p for p in FONT_CANDIDATES if Path(p).is_file()), None)

#: What the generated policy PDF and DOCX say: hub names of the watch-list, and a table.
PDF_LINES = ("关于推进粤港澳大湾区国际科技创新中心建设的实施意见",
             "一、总体要求：深化粤港澳大湾区与京津冀协同发展的科技合作。",
             "二、重点任务：支持前海、横琴等平台建设。")
TABLE = (("区域", "重点任务"), ("长三角", "集成电路"), ("京津冀", "人工智能"))


def pdf(lines=PDF_LINES, *, pages: int = 1, table=TABLE, password: str | None = None) -> bytes:
    """A PDF of ``pages`` pages, each with ``lines`` and ``table`` in the CJK font."""
    from fpdf import FPDF

    doc = FPDF()
    doc.set_compression(True)
    doc.add_font("cjk", fname=CJK_FONT, collection_font_number=0)
    doc.set_font("cjk", size=11)
    for n in range(pages):
        doc.add_page()
        for line in lines:
            doc.multi_cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
        if table:
            with doc.table(first_row_as_headings=False) as grid:
                for row in table:
                    cells = grid.row()
                    for value in row:
                        cells.cell(value)
        if pages > 1:
            doc.multi_cell(0, 7, f"第{n + 1}页", new_x="LMARGIN", new_y="NEXT")
    if password:
        doc.set_encryption(owner_password=password + "-owner", user_password=password)
    return bytes(doc.output())


def scanned_pdf() -> bytes:
    """A PDF whose page holds only drawn shapes: no text layer, like a scan."""
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    for i in range(20):
        doc.rect(10 + i * 5, 20 + i * 3, 40, 8, style="F")
    return bytes(doc.output())


def docx(paragraphs=PDF_LINES, table=TABLE) -> bytes:
    """A DOCX with ``paragraphs`` and a table."""
    import docx as python_docx

    document = python_docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    grid = document.add_table(rows=len(table), cols=len(table[0]))
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def page_tree_pdf(pages: int) -> bytes:
    """A minimal hand-written PDF with ``pages`` empty pages (a huge page tree in a few
    bytes per page)."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"] * pages
    return _assemble(objects)


def stream_bomb_pdf(unpacked_mib: int = 512) -> bytes:
    """A one-page PDF whose content stream inflates to ``unpacked_mib`` MiB of text
    operators (a decompression bomb of about 1/1000 of that size)."""
    packer = zlib.compressobj(9)
    chunk = b"BT /F1 1 Tf (x) Tj ET\n" * 47_662  # ~1 MiB
    body = b"".join(packer.compress(chunk) for _ in range(unpacked_mib)) + packer.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents 4 0 R"
               b" /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body + b"\nendstream"]
    return _assemble(objects)


def _assemble(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % off for off in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def corrupt_docx() -> bytes:
    """A DOCX cut in the middle: the zip's central directory is gone."""
    whole = docx()
    return whole[: len(whole) // 2]


def ofd_zip_bomb(unpacked_mib: int = 300) -> bytes:
    """An OFD-shaped zip whose page content inflates to ``unpacked_mib`` MiB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OFD.xml", '<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016">'
                                    "<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
        with archive.open("Doc_0/Pages/Page_0/Content.xml", "w", force_zip64=True) as member:
            block = b" " * (1024 * 1024)
            for _ in range(unpacked_mib):
                member.write(block)
    return out.getvalue()
