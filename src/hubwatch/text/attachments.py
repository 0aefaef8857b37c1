"""Attachments of policy pages (PDF, Word, OFD, spreadsheets): which links are
attachments, and their text, read within stated limits.

Readers (well-kept libraries, or the format's own XML):

- PDF: PDFium (``pypdfium2``) in a child process (``hubwatch.text.pdfchild``) under a
  memory limit (``RLIMIT_AS``) and a time limit, so a hostile file cannot take the run
  down; the child reads at most ``max_pages`` pages.
- DOCX: ``python-docx`` (its XML parser never resolves entities), after the zip
  directory was checked against the unpacked-size cap.
- OFD (GB/T 33190, zipped XML): ``OFD.xml`` -> ``DocRoot`` -> ``Document.xml`` -> each
  page's ``Content.xml``; the ``TextCode`` of each ``TextObject``, read with the crawler's
  safe XML parser after the same zip check.
- ``.doc``, ``.wps`` (legacy binary Word/WPS), ``.xls``, ``.xlsx``: outcome
  ``unsupported``: no reader here that the project trusts with untrusted binaries.

Faults and their outcomes (``hubwatch.outcomes``): over the byte cap -> ``too_large``
(the fetcher's attachment cap); a page tree over ``max_pages``, a zip unpacking past
``max_unpacked_bytes`` (a decompression or zip bomb), a child over its memory or time
limit -> ``parse_limit``; a corrupt file (bad zip, bad XML, PDFium cannot open it) ->
``decode_error``; an encrypted PDF or a legacy format -> ``unsupported``; a file that
opens but holds no text layer (a scan) -> ``no_text``.
"""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from posixpath import dirname, join, normpath
from urllib.parse import urlsplit

from lxml import etree

from hubwatch.config.settings import AttachmentSettings
from hubwatch.outcomes import Outcome

#: Bump when the text read from the same file can change (stored per version).
ATTACHMENT_EXTRACTOR_VERSION = "1.0.0"
#: File name endings -> file_type (the ``attachments`` view's values).
FILE_TYPES = {".pdf": "pdf", ".docx": "docx", ".doc": "doc", ".wps": "wps", ".ofd": "ofd",
              ".xlsx": "xlsx", ".xls": "xls"}
UNSUPPORTED_TYPES = frozenset({"doc", "wps", "xls", "xlsx"})
_OFD_NS = "{http://www.ofdspec.org/2016}"


@dataclass(frozen=True)
class Limits:
    """Bounds of one attachment's extraction: ``max_pages`` (PDF/OFD pages),
    ``max_unpacked_bytes`` (zip members together, bytes), ``max_members`` (zip entries),
    ``memory_mib`` (the PDF child's address space, MiB), ``seconds`` (the PDF child's
    wall time), ``max_chars`` (text kept)."""

    # Defaults are the settings' (HUBWATCH_ATTACHMENT_*), defined once there.
    max_pages: int = AttachmentSettings.model_fields["max_pages"].default
    max_unpacked_bytes: int = AttachmentSettings.model_fields["unpacked_max_bytes"].default
    max_members: int = 10_000
    memory_mib: int = AttachmentSettings.model_fields["memory_mib"].default
    seconds: float = AttachmentSettings.model_fields["seconds"].default
    max_chars: int = 5_000_000

    @classmethod
    def from_settings(cls, caps: AttachmentSettings) -> Limits:
        """The limits ``settings.attachments`` sets."""
        return cls(max_pages=caps.max_pages, max_unpacked_bytes=caps.unpacked_max_bytes,
                   memory_mib=caps.memory_mib, seconds=caps.seconds)


@dataclass(frozen=True)
class AttachmentLink:
    """A link from a page to a file: absolute URL, the anchor's text, the file type."""

    url: str
    link_text: str
    file_type: str


@dataclass(frozen=True)
class AttachmentText:
    """What an attachment says: ``text`` (paragraphs separated by a blank line) and
    ``page_count`` (None for formats without pages)."""

    text: str
    page_count: int | None


class AttachmentError(Exception):
    """The file yields no text; ``outcome`` is an ``Outcome`` value, ``message`` the cause."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(f"{outcome}: {message}")
        self.outcome, self.message = str(outcome), message


def file_type_of(url_or_path: str) -> str | None:
    """The attachment type named by a URL's path or a file name ending, else None."""
    path = urlsplit(url_or_path).path if "://" in url_or_path else url_or_path
    lowered = path.lower()
    return next((kind for ending, kind in FILE_TYPES.items() if lowered.endswith(ending)), None)


def sniff_type(body: bytes) -> str | None:
    """The attachment type told by the bytes (PDF magic, a DOCX or OFD zip), else None."""
    if body.startswith(b"%PDF-"):
        return "pdf"
    if body.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(body)).namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        if "OFD.xml" in names:
            return "ofd"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    if body.startswith(b"\xd0\xcf\x11\xe0"):
        return "doc"  # OLE2 compound file: .doc, .wps and .xls look alike here
    return None


def extract_attachment(body: bytes, file_type: str, limits: Limits = Limits()) -> AttachmentText:
    """The text of an attachment. Raises ``AttachmentError`` (see the module docstring
    for which fault gives which outcome)."""
    if file_type in UNSUPPORTED_TYPES:
        raise AttachmentError(Outcome.UNSUPPORTED, f"{file_type}: no trusted reader for this format")
    readers = {"pdf": _pdf, "docx": _docx, "ofd": _ofd}
    if file_type not in readers:
        raise AttachmentError(Outcome.UNSUPPORTED, f"unknown attachment type {file_type!r}")
    found = readers[file_type](body, limits)
    text = found.text[:limits.max_chars]
    if not text.strip():
        raise AttachmentError(Outcome.NO_TEXT, f"{file_type} of {found.page_count or 0} pages has no text layer")
    return AttachmentText(text, found.page_count)


# -- PDF: PDFium in a child process ---------------------------------------------------

def _pdf(body: bytes, limits: Limits) -> AttachmentText:
    # The child sets its own address-space and CPU limits first thing (no preexec_fn:
    # it is unsafe in a process with threads, and the pipeline fetches on a thread pool).
    args = [sys.executable, "-m", "hubwatch.text.pdfchild", str(limits.max_pages), str(limits.max_chars),
            str(limits.memory_mib), str(int(limits.seconds) + 1)]
    try:
        done = subprocess.run(args, input=body, capture_output=True, timeout=limits.seconds)
    except subprocess.TimeoutExpired:
        raise AttachmentError(Outcome.PARSE_LIMIT, f"PDF not read within {limits.seconds:g} s") from None
    if done.returncode != 0:
        cause = _child_cause(done)
        raise AttachmentError(Outcome.PARSE_LIMIT,
                              f"PDF reader stopped ({cause}) under {limits.memory_mib} MiB / {limits.seconds:g} s")
    reply = json.loads(done.stdout)
    if reply.get("error"):
        raise AttachmentError(reply["outcome"], reply["error"])
    return AttachmentText(reply["text"], reply["pages"])


def _child_cause(done: subprocess.CompletedProcess) -> str:
    """Why the child stopped: out of memory, out of CPU time, a signal, or its last words."""
    if b"MemoryError" in done.stderr:
        return "MemoryError"
    if done.returncode < 0:
        number = -done.returncode
        return "CPU time limit" if number == signal.SIGXCPU else f"signal {signal.Signals(number).name}"
    tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
    return tail[0] if tail else f"exit {done.returncode}"


# -- zipped formats: DOCX and OFD -----------------------------------------------------

def _open_zip(body: bytes, kind: str, limits: Limits) -> zipfile.ZipFile:
    """The archive after its directory was checked: entry count and unpacked size are
    read from the directory, and every read below is bounded by the same figures."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise AttachmentError(Outcome.DECODE_ERROR, f"corrupt {kind} (not a readable zip): {exc}") from None
    if len(entries) > limits.max_members:
        raise AttachmentError(Outcome.PARSE_LIMIT, f"{kind} zip holds {len(entries)} entries (cap {limits.max_members})")
    unpacked = sum(e.file_size for e in entries)
    if unpacked > limits.max_unpacked_bytes:
        raise AttachmentError(Outcome.PARSE_LIMIT, f"{kind} unpacks to {unpacked} bytes "
                                                   f"(cap {limits.max_unpacked_bytes}): a zip bomb or a huge file")
    return archive


def _read_member(archive: zipfile.ZipFile, name: str, kind: str, limits: Limits) -> bytes:
    """One zip member, read in chunks and stopped at the cap (a directory may lie)."""
    try:
        with archive.open(name) as member:
            data = member.read(limits.max_unpacked_bytes + 1)
    except KeyError:
        raise AttachmentError(Outcome.DECODE_ERROR, f"corrupt {kind}: {name} is missing") from None
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise AttachmentError(Outcome.DECODE_ERROR, f"corrupt {kind}: {name}: {exc}") from None
    if len(data) > limits.max_unpacked_bytes:
        raise AttachmentError(Outcome.PARSE_LIMIT, f"{kind} member {name} unpacks past the cap")
    return data


def _docx(body: bytes, limits: Limits) -> AttachmentText:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    archive = _open_zip(body, "DOCX", limits)
    _read_member(archive, "word/document.xml", "DOCX", limits)  # bounded before python-docx reads it
    try:
        document = docx.Document(io.BytesIO(body))
    except Exception as exc:  # noqa: BLE001 - python-docx raises many types for a bad package
        raise AttachmentError(Outcome.DECODE_ERROR, f"corrupt DOCX: {type(exc).__name__}: {exc}") from None
    blocks: list[str] = []
    for child in document.element.body.iterchildren():
        if child.tag.endswith("}p"):
            blocks.append(Paragraph(child, document).text)
        elif child.tag.endswith("}tbl"):
            table = Table(child, document)
            blocks.extend("\t".join(cell.text.strip() for cell in row.cells) for row in table.rows)
    return AttachmentText("\n\n".join(b.strip() for b in blocks if b.strip()), None)


def _ofd(body: bytes, limits: Limits) -> AttachmentText:
    from hubwatch.crawl.safexml import UnsafeXMLError, parse_xml_safely

    archive = _open_zip(body, "OFD", limits)

    def xml(name: str) -> etree._Element:
        try:
            return parse_xml_safely(_read_member(archive, name, "OFD", limits))
        except (UnsafeXMLError, etree.XMLSyntaxError) as exc:
            raise AttachmentError(Outcome.DECODE_ERROR, f"corrupt OFD: {name}: {exc}") from None

    root = xml("OFD.xml")
    doc_root = (root.findtext(f"{_OFD_NS}DocBody/{_OFD_NS}DocRoot") or "").strip().lstrip("/")
    if not doc_root:
        raise AttachmentError(Outcome.DECODE_ERROR, "corrupt OFD: OFD.xml names no DocRoot")
    document = xml(doc_root)
    pages = [p.get("BaseLoc") for p in document.iter(f"{_OFD_NS}Page") if p.get("BaseLoc")]
    if len(pages) > limits.max_pages:
        raise AttachmentError(Outcome.PARSE_LIMIT, f"OFD of {len(pages)} pages (cap {limits.max_pages})")
    texts = [_ofd_page_text(xml(normpath(join(dirname(doc_root), loc.lstrip("/"))))) for loc in pages]
    return AttachmentText("\n\n".join(t for t in texts if t), len(pages))


def _ofd_page_text(page: etree._Element) -> str:
    """A page's text: TextObjects on one baseline (their Boundary's y) form one line."""
    lines: list[list[str]] = []
    last_y: float | None = None
    for obj in page.iter(f"{_OFD_NS}TextObject"):
        text = "".join(code.text or "" for code in obj.iter(f"{_OFD_NS}TextCode"))
        if not text:
            continue
        y = _boundary_y(obj.get("Boundary"))
        if lines and y is not None and last_y is not None and abs(y - last_y) < 1.0:
            lines[-1].append(text)
        else:
            lines.append([text])
        last_y = y
    return "\n".join("".join(parts).strip() for parts in lines if "".join(parts).strip())


def _boundary_y(boundary: str | None) -> float | None:
    parts = (boundary or "").split()
    try:
        return float(parts[1]) if len(parts) >= 2 else None
    except ValueError:
        return None


# -- links ----------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def attachment_links(doc: etree._Element, base: str | None) -> list[AttachmentLink]:
    """Links of a page to attachment files, in page order, one per URL (its first text)."""
    from hubwatch.crawl.urls import absolute_url

    seen: dict[str, AttachmentLink] = {}
    for anchor in doc.iter("a"):
        href = (anchor.get("href") or "").strip()
        # the file ending first, on the raw href (cheap): most links are pages
        if not href or not file_type_of(href.split("#")[0].split("?")[0]):
            continue
        url = absolute_url(href, base)
        kind = file_type_of(url) if url else None
        if not kind or not url.startswith(("http://", "https://")):
            continue
        url = url.split("#")[0]
        text = _SPACES.sub(" ", "".join(anchor.itertext())).strip() or anchor.get("title") or ""
        seen.setdefault(url, AttachmentLink(url, text.strip(), kind))
    return list(seen.values())
