"""A crawl run's lifecycle, without Prefect.

A run is opened once (:func:`crawl_run`): the configuration is loaded and validated before
anything is fetched, runs whose process died are closed, the ``crawl_run`` row is created
with its liveness lock, and sources and watch-list are synced. Its work is done in batches
(:func:`run_batch`), each of which rebuilds what it needs from plain values (the run id),
so that a batch runs under any task runner, in this process or another. Each batch returns
its counts as a plain dict; the run merges them and, at the end, records its status and
counts, brings the analyst views up to date with what changed, and delivers the alerts.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from hubwatch.alerts.deliver import Delivery, run_alerts
from hubwatch.config.alerts import load_alerts
from hubwatch.config.settings import Settings, get_settings
from hubwatch.config.sources import SourceConfig, load_sources
from hubwatch.config.watchlist import Watchlist, load_watchlist
from hubwatch.crawl.fetch import Fetcher
from hubwatch.crawl.politeness import host_gate_for
from hubwatch.mentions.match import Matcher
from hubwatch.models import store
from hubwatch.models.analytics import refresh_analytics
from hubwatch.models.db import get_engine, session_factory
from hubwatch.models.runs import open_run
from hubwatch.pipeline.cancel import Cancellation, for_run, forget
from hubwatch.pipeline.diffs import update_version_diffs
from hubwatch.pipeline.ingest import Pipeline, ProgressHook, RunCounts, retry_db, sync_config

log = logging.getLogger(__name__)

def load_config(settings: Settings | None = None) -> tuple[list[SourceConfig], Watchlist]:
    """The sources and the watch-list named by the settings.

    Raises:
        hubwatch.config.loader.ConfigError: a file is invalid (``file:line: key: message``),
            names that collide once folded included (found by building a ``Matcher``).
    """
    settings = settings or get_settings()
    sources, watchlist = load_sources(settings.sources_file), load_watchlist(settings.watchlist_file)
    Matcher.shared(watchlist)  # the matcher owns the folding: it checks the names before any run opens
    return sources, watchlist


@dataclass
class RunHandle:
    """An open crawl run: its id, configuration and merged counts."""

    run_id: int
    flow_name: str
    sessions: sessionmaker[Session]
    sources: list[SourceConfig]
    watchlist: Watchlist
    settings: Settings
    counts: RunCounts
    #: The run's stop signal in this process (``hubwatch.pipeline.cancel``).
    cancellation: Cancellation = field(default_factory=Cancellation)
    #: the alert deliveries attempted when the run closed (for the flow's artifacts)
    deliveries: list[Delivery] = field(default_factory=list)

    def pipeline(self, progress: ProgressHook | None = None) -> Pipeline:
        """A pipeline bound to this run in this process (reads the synced ids)."""
        return Pipeline.attach(self.sessions, self.sources, self.watchlist, run_id=self.run_id,
                               settings=self.settings, progress=progress,
                               cancellation=self.cancellation)

    def merge(self, state: dict) -> None:
        """Add a batch's counts (:meth:`RunCounts.state`) to the run's."""
        self.counts.merge(state)


@contextmanager
def crawl_run(flow_name: str, parameters: dict, *, flow_run_id: str | None = None,
              settings: Settings | None = None) -> Iterator[RunHandle]:
    """Open a crawl run, yield its handle, and close it with its status and counts.

    ``flow_run_id``: the Prefect flow run's id (a retried flow run reopens its row).
    The run is ``completed`` when the block ends normally, ``failed`` (with the exception's
    type and message) otherwise; the exception propagates. It is ``cancelled`` (with the
    reason) when its cancellation was set (SIGTERM/SIGINT under
    :func:`hubwatch.pipeline.cancel.stop_on_signals`), whichever way the block ended.

    Raises:
        hubwatch.config.loader.ConfigError: before any row is written or page fetched.
    """
    settings = settings or get_settings()
    sources, watchlist = load_config(settings)
    alerts = load_alerts(settings.alerts_file)
    sessions = session_factory()
    with sessions.begin() as session:
        closed = store.close_abandoned_runs(session)
    if closed:
        log.warning("marked %d abandoned crawl run(s) failed", closed)
    with open_run(get_engine(), flow_name, _jsonable(parameters), flow_run_id) as run_id:
        with sessions.begin() as session:
            sync_config(session, sources, watchlist)
        handle = RunHandle(run_id, flow_name, sessions, sources, watchlist, settings, RunCounts(),
                           for_run(run_id))
        status, error = "failed", None
        try:
            yield handle
            status = "completed"
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            raise
        finally:
            if handle.cancellation.is_set():
                status, error = "cancelled", handle.cancellation.reason
            forget(run_id)
            counts = handle.counts.as_dict()

            def finish() -> None:
                with sessions.begin() as session:
                    store.finish_run(session, run_id, status, counts, error)
                    # What the database queued as changed, whichever run wrote it: the
                    # sentence diffs (version_diffs) of those documents, then their
                    # analytics rows. Nothing queued, no work.
                    refresh_analytics(session, on_claimed=lambda ids: update_version_diffs(session, ids))

            # Closing the run outlives a database restart too (bounded, then it raises).
            retry_db(finish, f"closing run {run_id}", settings.crawl.db_retry_seconds)
            handle.deliveries = deliver_alerts(sessions, alerts)


def deliver_alerts(sessions: sessionmaker[Session], alerts) -> list[Delivery]:
    """Send the alerts' undelivered rows (after the refresh: watches read the views).
    Never fails the run: whatever was not delivered goes out on the next one."""
    if not alerts:
        return []
    try:
        return run_alerts(sessions, alerts)
    except Exception:
        log.warning("alert delivery stopped; undelivered rows go out next run", exc_info=True)
        return []


_announced_runs: set[int] = set()  # runs whose fetcher gate this process has logged
_announced_lock = threading.Lock()


@contextmanager
def run_batch(run_id: int, *, progress: ProgressHook | None = None,
              settings: Settings | None = None, with_fetcher: bool = True
              ) -> Iterator[tuple[Pipeline, Fetcher | None]]:
    """A pipeline (and a fetcher) for one batch of run ``run_id``, built from plain values.

    The configuration is read again from the files the settings name (the run validated
    it at its start); the fetcher's per-host politeness is shared with every other batch
    and process through PostgreSQL (:func:`hubwatch.crawl.politeness.host_gate_for`).
    """
    settings = settings or get_settings()
    sources, watchlist = load_config(settings)
    cancellation = for_run(run_id)
    pipeline = Pipeline.attach(session_factory(), sources, watchlist, run_id=run_id,
                               settings=settings, progress=progress, cancellation=cancellation)
    if not with_fetcher:
        yield pipeline, None
        return
    with _announced_lock:  # one INFO line per run in this process, not one per batch
        announce = run_id not in _announced_runs
        _announced_runs.add(run_id)
    gate = host_gate_for(pipeline.sources.values(), settings.fetch.host_delay, announce=announce)
    with Fetcher(settings.fetch, host_gate=gate) as fetcher, cancellation.on_cancel(fetcher.cancel):
        yield pipeline, fetcher


def _jsonable(parameters: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in parameters.items()}
