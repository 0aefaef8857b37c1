"""The PDF reader's child process:
``python -m hubwatch.text.pdfchild MAX_PAGES MAX_CHARS MEMORY_MIB CPU_SECONDS``.

Reads the PDF bytes on stdin, writes one JSON object on stdout: ``{"pages": N, "text": ...}``
or ``{"error": cause, "outcome": ...}`` for a file PDFium opens but refuses (encrypted:
``unsupported``; over the page cap: ``parse_limit``; unreadable: ``decode_error``). The
parent (``hubwatch.text.attachments``) sets this process's memory and CPU limits, so a
file that makes PDFium allocate without bound ends here, not in the crawl. The limits
are set by this process itself (``RLIMIT_AS`` = MEMORY_MIB, ``RLIMIT_CPU`` = CPU_SECONDS)
before PDFium is loaded; the parent also kills it after its wall-time limit.
"""

from __future__ import annotations

import json
import resource
import sys


def limit(memory_mib: int, cpu_seconds: int) -> None:
    size = memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


def main(max_pages: int, max_chars: int) -> dict:
    import pypdfium2 as pdfium

    data = sys.stdin.buffer.read()
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            return {"error": "encrypted PDF (a password is needed to read it)", "outcome": "unsupported"}
        return {"error": f"PDFium cannot open the file: {exc}", "outcome": "decode_error"}
    pages = len(pdf)
    if pages > max_pages:
        return {"error": f"PDF of {pages} pages (cap {max_pages})", "outcome": "parse_limit"}
    texts, size = [], 0
    for index in range(pages):
        page = pdf[index]
        textpage = page.get_textpage()
        text = textpage.get_text_range().replace("\r\n", "\n").strip()
        textpage.close()
        page.close()
        if text:
            texts.append(text)
            size += len(text)
        if size >= max_chars:
            break
    pdf.close()
    return {"pages": pages, "text": "\n\n".join(texts)}


if __name__ == "__main__":
    limit(int(sys.argv[3]), int(sys.argv[4]))
    sys.stdout.write(json.dumps(main(int(sys.argv[1]), int(sys.argv[2])), ensure_ascii=False))
