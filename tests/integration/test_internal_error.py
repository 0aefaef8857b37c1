"""An unexpected exception while storing a page (a bug of ours, here a storing step that raises)
still leaves the page's one snapshot: ``internal_error`` with the exception's type and
message, an error in the run's counts and a failure in ``source_health`` (issue 16)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
from support.faultserver import article_html

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import FetchResult
from hubwatch.models import store
from hubwatch.outcomes import Outcome
from hubwatch.pipeline.ingest import Pipeline

NOW = dt.datetime(2025, 6, 18, 2, tzinfo=dt.UTC)


def _fetch(url: str) -> FetchResult:
    return FetchResult(url=url, final_url=url, status=200, headers={"content-type": "text/html"},
                       body=article_html(1), outcome=Outcome.OK, error=None, attempts=1, fetched_at=NOW,
                       elapsed_seconds=0.1, redirects=[], etag=None, last_modified=None)


def test_unexpected_exception_is_one_internal_error_snapshot(clean_db, monkeypatch):
    source = SourceConfig(slug="bugs", name="Bugs", kind="commentary", language="en",
                          allowed_hosts=["bugs.example"],
                          discovery=[Discovery(type="feed", url="https://bugs.example/f.xml")])
    engine = create_engine(clean_db)
    sessions = sessionmaker(engine)
    with sessions.begin() as session:
        run_id = store.start_run(session, "ingest", {}, None)
    pipeline = Pipeline.open(sessions, [source], load_watchlist(get_settings().watchlist_file), run_id=run_id)

    def broken_mark(session, version_ids, revision):
        raise ZeroDivisionError("storing bug")

    # Matching runs in the parse workers; a step of the parent's transaction fails here.
    monkeypatch.setattr(store, "mark_matched", broken_mark)
    assert pipeline.store_fetch(_fetch("https://bugs.example/a.html"), source) == "internal_error"
    monkeypatch.undo()
    assert pipeline.store_fetch(_fetch("https://bugs.example/b.html"), source) == "ok"
    with sessions.begin() as session:
        store.finish_run(session, run_id, "completed", pipeline.counts.as_dict(), None)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT requested_url, outcome, error_message, version_id FROM snapshot"
                                 " ORDER BY id")).all()
        health = conn.execute(text("SELECT * FROM source_health WHERE source = 'bugs'")).one()
    engine.dispose()
    assert [(r.requested_url.rsplit("/", 1)[1], r.outcome) for r in rows] == [
        ("a.html", "internal_error"), ("b.html", "ok")]
    assert rows[0].error_message == "ZeroDivisionError: storing bug" and rows[0].version_id is None
    assert pipeline.counts.as_dict()["errors"] == 1
    assert health.last_run_failures == 1 and health.last_run_pages == 2
