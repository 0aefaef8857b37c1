"""Case 30 through the pipeline: a WAF placeholder and a 503 between two identical
fetches never create a version nor disturb the stored hash, so the last fetch is
unchanged (no second version)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import FetchResult
from hubwatch.crawl.warc import outcome_for_status
from hubwatch.pipeline.ingest import Pipeline

# The case's vocabulary mapped onto the snapshot outcomes (and whether a version was made).
CASE_STATUS = {"ok": ("ok", True), "blocked": ("blocked_page", False),
               "error": ("http_error", False), "not_modified": ("ok", False)}


def test_error_and_placeholder_fetches_make_no_version(shared_dir, clean_db):
    case = shared_dir / "cases/30-version-flap-error-page"
    fetches = json.loads((case / "fetches.json").read_text())
    expected = json.loads((case / "expected.json").read_text())["expected"]
    source = SourceConfig(slug="sanjiao", name="Sanjiao", kind="policy", language="zh",
                          allowed_hosts=["www.sanjiao-gov.example"],
                          discovery=[Discovery(type="feed", url="https://www.sanjiao-gov.example/f.xml")])
    engine = create_engine(clean_db)
    pipeline = Pipeline.open(sessionmaker(engine), [source], load_watchlist(get_settings().watchlist_file))
    for f in fetches:
        when = dt.datetime.fromisoformat(f["fetched_at"].replace("Z", "+00:00"))
        pipeline.store_fetch(FetchResult(
            url=f["request_url"], final_url=f["final_url"], status=f["status"],
            headers={k.lower(): v for k, v in f["headers"]}, body=(case / f["body_file"]).read_bytes(),
            outcome=outcome_for_status(f["status"]), error=None if f["status"] == 200 else "HTTP 503",
            attempts=1, fetched_at=when, elapsed_seconds=0.1, redirects=[], etag=None,
            last_modified=None), source)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT count(*) FROM document_version")).scalar()
        log = conn.execute(text("SELECT outcome, new_version FROM snapshot ORDER BY fetched_at")).all()
        last = conn.execute(text("SELECT last_fetched_at FROM document")).scalar()
    engine.dispose()
    assert versions == expected["document_versions"] == 1
    assert [tuple(r) for r in log] == [CASE_STATUS[s] for s in expected["fetch_log_statuses"]]
    assert last == dt.datetime.fromisoformat(expected["last_seen_at"].replace("Z", "+00:00"))
