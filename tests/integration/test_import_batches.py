"""import-warc writes pages in batches (issue 15 point 1): one transaction per
``HUBWATCH_WRITE_BATCH_PAGES`` pages, yet every guarantee of the page-at-a-time path holds:
a page that fails to store is recorded with its cause while the rest of its batch is
kept, a kill mid-batch leaves no half-written document, a re-import writes nothing, and
the raw bodies read back byte for byte."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import load_sources
from hubwatch.config.watchlist import load_watchlist
from hubwatch.models import store
from hubwatch.pipeline.ingest import Pipeline

pytestmark = pytest.mark.db

CAPTURED = datetime(2026, 10, 1, tzinfo=UTC)
COUNTS = ("SELECT (SELECT count(*) FROM snapshot), (SELECT count(*) FROM document),"
          " (SELECT count(*) FROM document_version), (SELECT count(*) FROM mention),"
          " (SELECT count(*) FROM document_url)")
# What a half-written page would leave: a document without a version or without its
# canonical URL, a version without its match mark, an ok snapshot not linked to both.
HALF_WRITTEN = """
SELECT (SELECT count(*) FROM document d WHERE NOT EXISTS
          (SELECT 1 FROM document_version v WHERE v.document_id = d.id)
        OR NOT EXISTS (SELECT 1 FROM document_url u WHERE u.url = d.canonical_url))
     + (SELECT count(*) FROM document_version v WHERE NOT EXISTS
          (SELECT 1 FROM version_match m WHERE m.version_id = v.id))
     + (SELECT count(*) FROM snapshot WHERE outcome = 'ok'
          AND (document_id IS NULL OR version_id IS NULL))
"""


def _pages(shared: Path, n: int) -> list[tuple[str, bytes]]:
    """``n`` real pages of the shared corpus, each at a URL of its own (its title and
    canonical link made its own, so that each is a document)."""
    paths = sorted(p for p in (shared / "corpus" / "policy").rglob("*.html") if ".gold." not in p.name)
    pages = []
    for i in range(n):
        url = f"https://batch.example.org/p/{i}.html"
        body = paths[i % len(paths)].read_bytes().replace(b"<title>", f"<title>copy {i} ".encode(), 1)
        pages.append((url, body.replace(b'rel="canonical"', b'rel="x-canonical"')))
    return pages


def _warc(path: Path, pages: list[tuple[str, bytes]], gone: int = 0) -> Path:
    """A gzip WARC of ``pages`` (200s), then ``gone`` 404 records of URLs never stored."""
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        records = [(u, b, "200 OK") for u, b in pages]
        records += [(f"https://batch.example.org/gone/{i}.html", b"not here", "404 Not Found")
                    for i in range(gone)]
        for i, (url, body, status) in enumerate(records):
            headers = StatusAndHeaders(status, [("Content-Type", "text/html")], protocol="HTTP/1.1")
            when = (CAPTURED + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers,
                warc_headers_dict={"WARC-Date": when}))
    return path


def _pipeline(engine) -> Pipeline:
    settings = get_settings()
    return Pipeline.open(sessionmaker(engine, expire_on_commit=False), load_sources(settings.sources_file),
                         load_watchlist(settings.watchlist_file), settings=settings)


def test_a_bad_page_is_recorded_and_its_batch_kept(clean_db, shared_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HUBWATCH_WRITE_BATCH_PAGES", "5")
    get_settings.cache_clear()
    pages = _pages(shared_dir, 8)
    warc = _warc(tmp_path / "bad.warc.gz", pages, gone=2)
    resolve = store.resolve_document

    def resolve_but_one(session, **kw):
        if kw["canonical_url"].endswith("/p/3.html"):
            raise ValueError("bad page")
        return resolve(session, **kw)

    monkeypatch.setattr(store, "resolve_document", resolve_but_one)
    engine = create_engine(clean_db)
    pipeline = _pipeline(engine)
    pipeline.import_warc(warc)
    with engine.connect() as conn:
        rows = {r.requested_url.rsplit("/", 2)[-2] + "/" + r.requested_url.rsplit("/", 1)[-1]:
                (r.outcome, r.error_message, r.version_id is not None)
                for r in conn.execute(text("SELECT * FROM snapshot"))}
        half = conn.execute(text(HALF_WRITTEN)).scalar()
    engine.dispose()
    assert rows.pop("p/3.html") == ("internal_error", "ValueError: bad page", False)
    assert rows == {**{f"p/{i}.html": ("ok", None, True) for i in range(8) if i != 3},
                    "gone/0.html": ("gone", None, False), "gone/1.html": ("gone", None, False)}
    assert half == 0
    counts = pipeline.counts.as_dict()
    assert (counts["new_documents"], counts["errors"], counts["gone"]) == (7, 1, 2)


def test_reimport_writes_nothing_and_bodies_read_back(clean_db, shared_dir, tmp_path):
    """A re-import finds every capture stored, chunk by chunk, before parsing any."""
    pages = _pages(shared_dir, 12)
    warc = _warc(tmp_path / "same.warc.gz", pages)
    engine = create_engine(clean_db)
    first = _pipeline(engine)
    first.import_warc(warc)
    with engine.connect() as conn:
        before = tuple(conn.execute(text(COUNTS)).one())
        bodies = dict(conn.execute(text("SELECT final_url, raw_body FROM document_version")).all())
    again = _pipeline(engine)
    parsed = []
    extract = again._extract_safely
    again._extract_safely = lambda res, source: parsed.append(res.url) or extract(res, source)
    again.import_warc(warc)
    _assert_all_duplicates(engine, again, before, 12)
    engine.dispose()
    assert parsed == []  # known captures are not parsed again
    assert bodies == dict(pages)  # byte-identical, whatever the column's compression


def _assert_all_duplicates(engine, pipeline, before: tuple, n: int) -> None:
    """``n`` pages were stored before (``before``: the COUNTS row then), and ``pipeline``
    counted each of them as a duplicate and wrote nothing."""
    with engine.connect() as conn:
        after = tuple(conn.execute(text(COUNTS)).one())
    assert before[:3] == (n, n, n) and after == before
    assert pipeline.counts.duplicates == n and pipeline.counts.as_dict()["pages_fetched"] == 0


def test_captures_stored_after_the_check_are_duplicates_not_rewritten(clean_db, shared_dir, tmp_path):
    """A parallel run that stores a capture between import-warc's check of the chunk and
    the batch's write: the snapshot's unique key refuses it, counted as a duplicate."""
    from hubwatch.crawl.warc import read_warc
    from hubwatch.pipeline.ingest import Archived

    pages = _pages(shared_dir, 6)
    warc = _warc(tmp_path / "raced.warc.gz", pages)
    engine = create_engine(clean_db)
    _pipeline(engine).import_warc(warc)  # the "parallel run", done first
    with engine.connect() as conn:
        before = tuple(conn.execute(text(COUNTS)).one())
    late = _pipeline(engine)
    batch = [Archived(res, late.source_for(res.url), late._extract_safely(res, late.source_for(res.url)))
             for res in read_warc(warc)]  # parsed as if checked before the other run wrote
    late.store_archived(batch)
    _assert_all_duplicates(engine, late, before, 6)
    engine.dispose()


KILLED_IMPORT = """
import sys
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from hubwatch.config.settings import get_settings
from hubwatch.config.sources import load_sources
from hubwatch.config.watchlist import load_watchlist
from hubwatch.pipeline.ingest import Pipeline
s = get_settings()
Pipeline.open(sessionmaker(create_engine(sys.argv[1])), load_sources(s.sources_file),
              load_watchlist(s.watchlist_file), settings=s).import_warc(sys.argv[2])
"""


def test_kill_mid_import_leaves_whole_batches(clean_db, shared_dir, tmp_path):
    n, size = 60, 4
    pages = _pages(shared_dir, n)
    warc = _warc(tmp_path / "killed.warc.gz", pages)
    env = os.environ | {"HUBWATCH_WRITE_BATCH_PAGES": str(size)}
    engine = create_engine(clean_db)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_IMPORT, clean_db, str(warc)], env=env)
    deadline = time.monotonic() + 300  # a safety bound against a hang, not a timing
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM snapshot")).scalar() >= size:
                    break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM snapshot")).scalar()
        half = conn.execute(text(HALF_WRITTEN)).scalar()
    assert proc.returncode == -signal.SIGKILL and size <= stored < n
    assert stored % size == 0 and half == 0  # whole batches only, no page half written
    rerun = _pipeline(engine)
    rerun.import_warc(warc)
    with engine.connect() as conn:
        counts = tuple(conn.execute(text(COUNTS)).one())
        half = conn.execute(text(HALF_WRITTEN)).scalar()
    engine.dispose()
    assert counts[:3] == (n, n, n) and half == 0
    assert rerun.counts.duplicates == stored and rerun.counts.new_documents == n - stored
