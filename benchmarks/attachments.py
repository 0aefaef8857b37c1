"""Time and peak memory of attachment text extraction on a generated 200-page PDF (Chinese
text and a table on every page, tests/support/docgen.py), DOCX and the real OFDs.

For the PDF: wall time and the child process's peak RSS (``ru_maxrss`` of the children)
through ``hubwatch.text.attachments.extract_attachment`` (PDFium in a child process under
the default limits), and as anchor the same PDFium calls in this process, without the
child (what the isolation costs). Each figure is the median of 3 runs.

Usage::

    .venv/bin/python benchmarks/attachments.py [--pages 200]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import docgen  # noqa: E402  (path set up above)

from hubwatch.text.attachments import Limits, extract_attachment  # noqa: E402


def in_process(body: bytes) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(body)
    chars = sum(len(pdf[i].get_textpage().get_text_range()) for i in range(len(pdf)))
    pdf.close()
    return chars


def timed(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    if docgen.CJK_FONT is None:
        sys.exit("no CJK font: apt-get install fonts-wqy-microhei")
    start = time.perf_counter()
    body = docgen.pdf(pages=args.pages)
    print(f"generated a {args.pages}-page PDF of {len(body) / 2**20:.2f} MiB in {time.perf_counter() - start:.2f} s")
    limits = Limits()
    found = extract_attachment(body, "pdf", limits)
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB -> MiB on Linux
    print(f"hubwatch (child, limit {limits.memory_mib} MiB / {limits.seconds:g} s): "
          f"{timed(lambda: extract_attachment(body, 'pdf', limits)):.3f} s, peak RSS {child_peak:.0f} MiB, "
          f"{found.page_count} pages, {len(found.text)} chars")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    anchor = timed(lambda: in_process(body))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"anchor (PDFium in this process): {anchor:.3f} s, this process's peak RSS {after:.0f} MiB "
          f"({before:.0f} MiB before)")
    docx_body = docgen.docx(paragraphs=docgen.PDF_LINES * args.pages)
    print(f"DOCX of {3 * args.pages} paragraphs ({len(docx_body) / 2**10:.0f} KiB): "
          f"{timed(lambda: extract_attachment(docx_body, 'docx', limits)):.3f} s")
    shared = Path(os.environ.get("HUBWATCH_SHARED", "/work/shared")) / "corpus-gov/attachments"
    for path in sorted(shared.glob("*.ofd")):
        data = path.read_bytes()
        print(f"OFD {path.name} ({len(data) / 2**10:.0f} KiB): "
              f"{timed(lambda data=data: extract_attachment(data, 'ofd', limits)):.4f} s")


if __name__ == "__main__":
    main()
