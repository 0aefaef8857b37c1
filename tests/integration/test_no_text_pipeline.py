"""A page with no extractable text, through the pipeline: outcome ``no_text``, no version,
the document's earlier text kept, counted in ``source_health`` and the run's counts;
``reprocess --extract`` keeps a version whose re-extraction comes out empty."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, text, update
from sqlalchemy.orm import sessionmaker

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import FetchResult
from hubwatch.models import store
from hubwatch.models.schema import DocumentVersion
from hubwatch.pipeline.ingest import Pipeline
from hubwatch.pipeline.reprocess import reprocess_versions

HOST = "news.notext.example"
URL = f"https://{HOST}/2026/01/05/story.html"
ARTICLE = ("<html><head><title>Port plan</title></head><body><article><h1>Port plan</h1>"
           + "".join(f"<p>Paragraph {i}: the Greater Bay Area port plan was discussed by the council "
                     f"and the delegates agreed on the next steps for the coming year.</p>" for i in range(4))
           + "</article></body></html>").encode()
EMPTY = (b"<html><head><title>Port plan</title></head><body><div id='root'></div>"
         b"<script>window.location.hash='x'</script></body></html>")


def _fetch(body: bytes, when: dt.datetime, url: str = URL) -> FetchResult:
    return FetchResult(url=url, final_url=url, status=200, headers={"content-type": "text/html; charset=utf-8"},
                       body=body, outcome="ok", error=None, attempts=1, fetched_at=when,
                       elapsed_seconds=0.1, redirects=[], etag=None, last_modified=None)


def _pipeline(engine, source, run_name: str) -> Pipeline:
    sessions = sessionmaker(engine)
    with sessions.begin() as session:
        run_id = store.start_run(session, run_name, {})
    return Pipeline.open(sessions, [source], load_watchlist(get_settings().watchlist_file), run_id=run_id)


def test_no_text_page_stores_no_version_and_is_counted(clean_db):
    source = SourceConfig(slug="notext", name="No text", kind="commentary", language="en", allowed_hosts=[HOST],
                          discovery=[Discovery(type="feed", url=f"https://{HOST}/feed.xml")])
    engine = create_engine(clean_db)
    first = _pipeline(engine, source, "first")
    start = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
    assert first.store_fetch(_fetch(ARTICLE, start), source) == "ok"
    second = _pipeline(engine, source, "second")
    assert second.store_fetch(_fetch(EMPTY, start + dt.timedelta(days=1)), source) == "no_text"
    assert second.store_fetch(_fetch(EMPTY, start + dt.timedelta(days=1),
                                     f"https://{HOST}/2026/01/06/other.html"), source) == "no_text"
    counts = second.counts.as_dict()
    assert counts["without_text"] == 2 and counts["errors"] == 0 and counts["new_versions"] == 0
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT main_text FROM document_version")).scalars().all()
        documents = conn.execute(text("SELECT count(*) FROM document")).scalar()
        snaps = conn.execute(text("SELECT outcome, document_id IS NOT NULL, version_id FROM snapshot "
                                  "ORDER BY id")).all()
        health = conn.execute(text("SELECT last_run_without_text, last_run_failures, consecutive_failures, "
                                   "last_run_pages FROM source_health WHERE source = 'notext'")).one()
    assert len(versions) == 1 and "Paragraph 3" in versions[0]
    assert documents == 1  # the page never seen with text is no document
    assert [tuple(s) for s in snaps] == [("ok", True, 1), ("no_text", True, None), ("no_text", False, None)]
    assert tuple(health) == (2, 0, 0, 2)

    # The stored raw body is now one whose extraction is empty: reprocess keeps the text.
    with sessionmaker(engine).begin() as session:
        session.execute(update(DocumentVersion).values(raw_body=EMPTY))
    report = reprocess_versions(sessionmaker(engine), second, extract=True)
    assert report.kept_without_text == 1 and report.versions_reextracted == 0
    with engine.connect() as conn:
        assert "Paragraph 3" in conn.execute(text("SELECT main_text FROM document_version")).scalar()
    engine.dispose()
