"""A crawl run whose process died is marked failed by the next run; a live one, in
another connection (process, machine), is left alone."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from hubwatch.models import store


def test_abandoned_runs_are_closed_and_live_ones_kept(clean_db):
    engine = create_engine(clean_db)
    live_conn, dead_conn = engine.connect(), engine.connect()
    runs = {}
    for name, conn in (("live", live_conn), ("dead", dead_conn)):
        session = Session(bind=conn)
        runs[name] = store.start_run(session, "nightly", {})
        store.hold_run_lock(session, runs[name])
        session.commit()
    dead_conn.invalidate()  # the process died: its connection and its lock are gone
    with Session(engine) as reaper:
        assert store.close_abandoned_runs(reaper) == 1
        reaper.commit()
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT id, run_status FROM crawl_run")).all())
        error = conn.execute(text("SELECT error_message FROM crawl_run WHERE id = :i"),
                             {"i": runs["dead"]}).scalar()
    assert states == {runs["live"]: "running", runs["dead"]: "failed"}
    assert "abandoned" in error
    live_conn.close()
    engine.dispose()
