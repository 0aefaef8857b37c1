"""ParsePool.prestart: workers started ahead of the first page (import-warc starts them all,
a one-page ingest one), never more than the pool's size, none on a closed pool; a
prestarted worker parses like any other."""

from __future__ import annotations

import datetime as dt

from hubwatch.text.worker import ParseLimits, ParsePool

PAGE = (b"<html><head><title>Prestart</title></head><body><article><p>"
        + b"The Greater Bay Area plan sets out what the hubs do next. " * 8 + b"</p></article></body></html>")


def test_prestart_fills_the_pool_up_to_its_size_only():
    pool = ParsePool(ParseLimits(workers=2))
    try:
        pool.prestart()
        assert pool._idle.qsize() == 1
        pool.prestart(5)  # capped at the pool's two workers
        assert pool._idle.qsize() == 2
        pool.prestart(2)  # already there: nothing more started
        assert pool._idle.qsize() == 2
        parsed = pool.parse(PAGE, url="https://example.org/a", content_type="text/html",
                            fetched_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
        assert parsed.page.title == "Prestart" and "Greater Bay Area" in parsed.page.text
        assert pool._idle.qsize() == 2  # the worker came back
    finally:
        pool.close()
    pool.prestart(2)
    assert pool._idle.qsize() == 0  # closed: nothing started
