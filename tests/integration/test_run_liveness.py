"""A crawl run whose process died is marked failed by the next run; a live one, in
another connection (process, machine), is left alone."""

from __future__ import annotations

import threading

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from hubwatch.models import store
from hubwatch.models.runs import open_run


def test_abandoned_runs_are_closed_and_live_ones_kept(clean_db):
    engine = create_engine(clean_db)
    live = open_run(engine, "nightly", {})
    live_id = live.__enter__()
    dead_conn = engine.connect()  # what open_run does, in a process that then dies
    session = Session(bind=dead_conn)
    dead_id = store.start_run(session, "nightly", {})
    session.execute(text("SELECT pg_advisory_lock(:s, :r)"), {"s": store.RUN_LOCK_SPACE, "r": dead_id})
    session.commit()
    dead_conn.invalidate()  # the process died: its connection and its lock are gone
    with Session(engine) as reaper:
        assert store.close_abandoned_runs(reaper) == 1
        reaper.commit()
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT id, run_status FROM crawl_run")).all())
        error = conn.execute(text("SELECT error_message FROM crawl_run WHERE id = :i"),
                             {"i": dead_id}).scalar()
    assert states == {live_id: "running", dead_id: "failed"}
    assert "abandoned" in error
    live.__exit__(None, None, None)
    # Once the block ends the lock is free: the row would now count as abandoned.
    with Session(engine) as reaper:
        assert store.close_abandoned_runs(reaper) == 1
        reaper.rollback()
    engine.dispose()


def test_the_lock_is_held_exactly_while_the_block_runs(clean_db):
    engine = create_engine(clean_db)
    inside = threading.Event()
    with open_run(engine, "ingest", {"urls": ["u"]}) as run_id:
        with engine.connect() as other:
            held = other.execute(text("SELECT pg_try_advisory_lock(:s, :r)"),
                                 {"s": store.RUN_LOCK_SPACE, "r": run_id}).scalar()
            inside.set()
        assert held is False
    with engine.connect() as other:
        free = other.execute(text("SELECT pg_try_advisory_lock(:s, :r)"),
                             {"s": store.RUN_LOCK_SPACE, "r": run_id}).scalar()
        other.execute(text("SELECT pg_advisory_unlock(:s, :r)"), {"s": store.RUN_LOCK_SPACE, "r": run_id})
    assert inside.is_set() and free is True
    engine.dispose()
