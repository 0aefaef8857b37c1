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

from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session

from hubwatch.models import store
from hubwatch.models.locks import acquire
from hubwatch.models.schema import CrawlRun


class RunLiveness:
    """Keeps a run's liveness lock (taken by :func:`open_run`) held for the run's lifetime,
    also across a database restart.

    A session-level advisory lock lives and dies with its connection: when PostgreSQL
    restarts or drops the connection, the lock is gone and another run would mark this
    live one abandoned. A thread pings the connection every ``interval`` seconds; when it
    is lost, it connects again (every 0.5 s until the server is back), takes the lock
    again, and puts the row back to ``running`` should another run have marked it
    abandoned in the gap. ``conn``: the connection that took the lock (now owned here).
    ``stop()`` releases the lock and closes the connection.
    """

    def __init__(self, engine, run_id: int, conn, *, interval: float = 1.0) -> None:
        import threading

        self.engine, self.run_id, self.conn, self.interval = engine, run_id, conn, interval
        self.retaken = 0  # how many times the lock was taken again
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"liveness-{run_id}", daemon=True)

    def start(self) -> RunLiveness:
        self._thread.start()
        return self

    def _watch(self) -> None:
        from sqlalchemy.exc import DBAPIError

        while not self._stop.wait(self.interval):
            try:
                self.conn.execute(text("SELECT 1"))
                self.conn.commit()
            except DBAPIError:
                self._retake()

    def _retake(self) -> None:
        from sqlalchemy.exc import DBAPIError

        try:
            self.conn.close()
        except DBAPIError:
            pass
        key = {"space": store.RUN_LOCK_SPACE, "run": self.run_id}
        while not self._stop.is_set():
            try:
                conn = self.engine.connect()
                conn.execute(text("SELECT pg_advisory_lock(:space, :run)"), key)
                conn.execute(update(CrawlRun).where(
                    CrawlRun.id == self.run_id, CrawlRun.run_status == "failed",
                    CrawlRun.error_message.like("abandoned:%")).values(
                        run_status="running", ended_at=None, error_message=None))
                conn.commit()
                self.conn, self.retaken = conn, self.retaken + 1
                return
            except DBAPIError:
                self._stop.wait(0.5)

    def stop(self) -> None:
        """Stop watching, release the lock and close the connection (errors ignored: a
        closed connection has no lock left to release)."""
        from sqlalchemy.exc import DBAPIError

        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:space, :run)"),
                              {"space": store.RUN_LOCK_SPACE, "run": self.run_id})
            self.conn.commit()
        except DBAPIError:
            pass
        finally:
            try:
                self.conn.close()
            except DBAPIError:
                pass


@contextmanager
def open_run(engine: Engine, flow_name: str, parameters: dict,
             flow_run_id: str | None = None) -> Iterator[int]:
    """Create (or, for a retried Prefect flow run, reopen) the ``crawl_run`` row and hold
    its liveness lock until the block ends; yield the run id.

    The lock is taken in the transaction that creates the row, before its commit, so no
    other session ever sees the row unlocked; :class:`RunLiveness` keeps it held across a
    database restart. Closing the run (its status and counts) is the caller's, in a
    transaction of its own, before the block ends.
    """
    conn = engine.connect()
    liveness = Session(bind=conn)
    try:
        run_id = store.start_run(liveness, flow_name, parameters, flow_run_id)
        # Bounded: any session may take any advisory lock (an analyst's too); a fresh
        # run id is normally free, and a squatter is named instead of waited on.
        acquire(liveness, store.RUN_LOCK_SPACE, run_id, what=f"crawl run {run_id} liveness lock")
        liveness.commit()
    except BaseException:
        liveness.close()
        conn.close()
        raise
    liveness.close()
    keeper = RunLiveness(engine, run_id, conn).start()
    try:
        yield run_id
    finally:
        # Unlocks before the connection goes back to the pool, where it would stay held.
        keeper.stop()
