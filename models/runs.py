"""A crawl run's row and its liveness lock, as one context manager.

A run is alive while a session-level advisory lock ``(RUN_LOCK_SPACE, run id)`` is held on
a connection of its own; the lock goes with the connection, also when the process is
killed, so another process can tell a dead run from a live one
(:func:`hubwatch.models.store.close_abandoned_runs`). This module owns that connection and
its transactions; it is the only writer here that commits, because the lock's lifetime is
the run's, not one unit of work's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from hubwatch.models import store
from hubwatch.models.locks import acquire


@contextmanager
def open_run(engine: Engine, flow_name: str, parameters: dict,
             flow_run_id: str | None = None) -> Iterator[int]:
    """Create (or, for a retried Prefect flow run, reopen) the ``crawl_run`` row and hold
    its liveness lock until the block ends; yield the run id.

    The lock is taken in the transaction that creates the row, before its commit, so no
    other session ever sees the row unlocked. Closing the run (its status and counts) is
    the caller's, in a transaction of its own, before the block ends.
    """
    key = {"space": store.RUN_LOCK_SPACE}
    with engine.connect() as conn:
        liveness = Session(bind=conn)
        try:
            run_id = store.start_run(liveness, flow_name, parameters, flow_run_id)
            key["run"] = run_id
            # Bounded: any session may take any advisory lock (an analyst's too); a fresh
            # run id is normally free, and a squatter is named instead of waited on.
            acquire(liveness, store.RUN_LOCK_SPACE, run_id,
                    what=f"crawl run {run_id} liveness lock")
            liveness.commit()
            yield run_id
        finally:
            if "run" in key:
                # Unlock before the connection goes back to the pool, where it would stay held.
                liveness.rollback()
                liveness.execute(text("SELECT pg_advisory_unlock(:space, :run)"), key)
                liveness.commit()
            liveness.close()
