"""What bounded extraction costs and what it bounds (issue 16, point 4).

Prints, for generated pages (nothing copied from the shared corpus):

- per-page time of ``parse_page`` in this process (the anchor) and through a reused
  ``ParsePool`` worker, and the difference (pickling and the pipe round trip);
- the first call's cost (starting one worker);
- how long an attribute bomb (one tag with 10^5 and 10^6 attributes) takes to end as
  ``parse_limit`` under the default deadline, beside the in-process time of a 3x10^4 bomb
  (libxml2 is quadratic: 10^5 took 48 s in-process in the issue, 10^6 never finished);
- a 19 MB page repeating "Greater Bay Area": time, outcome, text kept, and the peak RSS of
  the workers (``RUSAGE_CHILDREN``).

Usage::

    HUBWATCH_DATA_DIR=/tmp/hw-bench .venv/bin/python benchmarks/parse_worker.py [--pages 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import time

from hubwatch.text.extract import ExtractError, parse_page
from hubwatch.text.worker import ParseLimits, ParsePool

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def article(n_paragraphs: int) -> bytes:
    para = ("<p>The Greater Bay Area plan asks each city to report progress on cross-border research "
            "funds, and 粤港澳大湾区的配套措施将于年内公布。</p>")
    return (f"<html><head><title>Plan {n_paragraphs}</title><meta name=\"date\" content=\"2025-06-01\">"
            f"</head><body><nav><a href=\"/\">Home</a></nav><article><h1>Plan</h1>{para * n_paragraphs}"
            f"</article><footer>Footer</footer></body></html>").encode()


def bomb(n: int) -> bytes:
    return ("<html><body><p " + " ".join(f"a{i}=x" for i in range(n)) + ">x</p></body></html>").encode()


def _timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _outcome(pool: ParsePool, body: bytes) -> tuple[str, float, str]:
    t = time.perf_counter()
    try:
        parsed = pool.parse(body, url="https://x.example/a", content_type="text/html; charset=utf-8",
                            fetched_at=NOW)
        what = f"ok, text {len(parsed.page.text):,} of {parsed.text_chars:,} chars"
        return "ok", time.perf_counter() - t, what
    except ExtractError as exc:
        return exc.outcome, time.perf_counter() - t, exc.message


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=300)
    args = ap.parse_args()
    pool = ParsePool(ParseLimits(workers=1))
    kw = dict(url="https://x.example/a", content_type="text/html; charset=utf-8", fetched_at=NOW)
    t = time.perf_counter()
    pool.parse(article(5), **kw)
    print(f"first call (starts a worker): {(time.perf_counter() - t) * 1000:.0f} ms")
    print(f"{'page':>18} {'bytes':>9} {'in-process ms':>14} {'worker ms':>10} {'overhead ms':>12}")
    for n in (5, 40, 400):
        body = article(n)
        local = _timed(lambda b=body: parse_page(b, **kw), args.pages)
        remote = _timed(lambda b=body: pool.parse(b, **kw), args.pages)
        print(f"{f'{n} paragraphs':>18} {len(body):>9,} {local * 1000:>14.2f} {remote * 1000:>10.2f} "
              f"{(remote - local) * 1000:>12.2f}")
    t = time.perf_counter()
    parse_page(bomb(30_000), **kw)
    print(f"anchor: 3x10^4-attribute tag in-process: {time.perf_counter() - t:.1f} s")
    for n in (100_000, 1_000_000):
        outcome, took, what = _outcome(pool, bomb(n))
        print(f"{n:,}-attribute tag via worker: {outcome} after {took:.1f} s ({what})")
    big = b"<html><body><article><p>" + b"Greater Bay Area " * 1_100_000 + b"</p></article></body></html>"
    outcome, took, what = _outcome(pool, big)
    print(f"{len(big) / 1e6:.0f} MB page of repeats via worker: {outcome} after {took:.1f} s ({what})")
    pool.close()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of any worker: {peak:.0f} MB; this process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
