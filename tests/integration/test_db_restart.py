"""The database may restart (issue 12 point 9): an embedded PostgreSQL stopped (fast
shutdown) in the middle of a nightly run and started again on the same data folder and
port. The run's transactions in flight are retried, its liveness lock is taken again (no
other run can mark it abandoned while it lives), and after a re-run the database holds
what an uninterrupted crawl gives. Embedded only: CI's PostgreSQL is not ours to stop."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from support.sitegen import SiteServer, expected, write_sources

from hubwatch.config.settings import get_settings
from hubwatch.models import store
from hubwatch.models.embedded import EmbeddedPostgres

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.usefixtures("prefect_harness"),
              pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                                 reason="stops the embedded server: not under DATABASE_URL")]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _count(engine, sql: str) -> int:
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    except Exception:  # the server is down: nothing to count yet
        return -1


def test_run_survives_a_database_restart(tmp_path, monkeypatch):
    from hubwatch.flows.orchestration import nightly
    from hubwatch.models import db as dbmod

    server = EmbeddedPostgres(tmp_path / "embedded")
    info = server.acquire()
    url = info.url()
    dbmod.upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("HUBWATCH_SOURCES_FILE", str(tmp_path / "sources.yaml"))
    monkeypatch.setenv("HUBWATCH_HOST_DELAY_SECONDS", "0")
    monkeypatch.setenv("HUBWATCH_FETCH_WORKERS", "2")
    monkeypatch.setenv("HUBWATCH_RETRIES", "0")
    get_settings.cache_clear()
    engine = create_engine(url)
    result: dict = {}
    try:
        # 0.15 s per page and two workers: about two seconds of crawling to interrupt.
        with SiteServer(pages=24, latency=0.15) as site:
            write_sources(tmp_path / "sources.yaml", site)
            thread = threading.Thread(target=lambda: result.update(first=nightly(max_pages=100)))
            thread.start()
            _wait(lambda: _count(engine, "SELECT count(*) FROM document") >= 4, 60, "pages stored")
            run_id = _count(engine, "SELECT max(id) FROM crawl_run")
            server.stop()  # fast shutdown: open transactions roll back
            time.sleep(1.0)
            server.acquire(port=info.port)
            # The live run takes its lock again: another run finds nothing abandoned.
            _wait(lambda: _lock_held(engine, run_id), 20, "the liveness lock to be taken again")
            with Session(engine) as session:
                assert store.close_abandoned_runs(session) == 0
                session.commit()
            assert _count(engine, f"SELECT count(*) FROM crawl_run WHERE id = {run_id} "
                                  "AND run_status = 'running'") == 1
            thread.join(120)
            assert not thread.is_alive()
            # A re-run (a new night) stores what the interrupted one may have missed.
            result["second"] = nightly(max_pages=100)
            plan = expected(site.articles)
        with engine.connect() as conn:
            documents = conn.execute(text("SELECT count(*) FROM document")).scalar()
            versions = conn.execute(text("SELECT count(*) FROM document_version")).scalar()
            by_entity = dict(conn.execute(text(
                "SELECT entity, count(*) FROM current_mentions GROUP BY 1")).all())
            runs = conn.execute(text("SELECT run_status, error_message FROM crawl_run ORDER BY id")).all()
            per_doc = conn.execute(text("SELECT max(n) FROM (SELECT count(*) AS n FROM "
                                        "document_version GROUP BY document_id) x")).scalar()
    finally:
        engine.dispose()
        for e in list(dbmod._engines.values()):
            e.dispose()
        dbmod._engines.clear()
        get_settings.cache_clear()
        server.stop()
        server.stop_child()
    assert documents == versions == plan.documents == 24 and per_doc == 1
    assert by_entity == plan.mentions_by_entity
    assert runs[0].run_status in ("completed", "failed")
    assert not (runs[0].error_message or "").startswith("abandoned")
    assert runs[1].run_status == "completed"
    print(f"first run: {runs[0].run_status}, {result.get('first', {}).get('new_versions')} "
          f"versions; re-run: {result['second']['new_versions']} versions")


def _lock_held(engine, run_id: int) -> bool:
    """True when somebody holds the run's liveness lock (we cannot take it)."""
    try:
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:s, :r)"),
                               {"s": store.RUN_LOCK_SPACE, "r": run_id}).scalar()
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:s, :r)"),
                             {"s": store.RUN_LOCK_SPACE, "r": run_id})
            return not got
    except Exception:
        return False
