"""Prefect flows: ``nightly``, ``ingest``, ``import-warc``, ``reprocess``.

They only orchestrate :mod:`hubwatch.pipeline.ingest` and :mod:`hubwatch.pipeline.reprocess`: one task per
batch (a source, a chunk of URLs, a WARC file, never one page), because Prefect's
per-task cost would otherwise dominate. Each run is a ``crawl_run`` row and leaves one
markdown artifact summarising it.

No ``from __future__ import annotations`` here: Prefect builds the deployments'
parameter schemas from these signatures (see shared notes on ``flow.serve``).
"""

import datetime as dt
import logging
from collections import Counter
from contextlib import contextmanager

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy.orm import Session

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import load_sources, select_sources
from hubwatch.config.watchlist import load_watchlist
from hubwatch.flows.deployments import forward_domain_logs, late_start_reason
from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.pipeline.ingest import Pipeline, ProgressHook
from hubwatch.crawl.politeness import host_gate_for
from hubwatch.models import store
from hubwatch.models.analytics import refresh_analytics
from hubwatch.models.db import session_factory

log = logging.getLogger(__name__)
URL_CHUNK = 50  # URLs per task in `ingest`

#: Set by the CLI to drive its progress bar; flows run fine without it.
progress_hook: ProgressHook | None = None


def fetch_settings() -> FetchSettings:
    """Fetch limits from the process settings (environment)."""
    s = get_settings()
    extra = {"user_agent": s.user_agent} if s.user_agent else {}
    return FetchSettings(connect_timeout=s.connect_timeout, read_timeout=s.read_timeout,
                         total_deadline=s.total_deadline, max_bytes=s.max_bytes, retries=s.retries,
                         max_retry_wait=s.max_retry_wait, breaker_threshold=s.breaker_threshold,
                         backoff_base=s.backoff_base, backoff_cap=s.backoff_cap,
                         host_delay=s.host_delay_seconds,
                         max_connections=max(4, s.fetch_workers * 2), **extra)


@contextmanager
def crawl_run(flow_name: str, parameters: dict):
    """Load and validate config (before any fetch), open a crawl_run, yield a Pipeline,
    and close the run with its counts and a summary artifact, also on failure."""
    forward_domain_logs()
    settings = get_settings()
    sources = load_sources(settings.sources_file)
    watchlist = load_watchlist(settings.watchlist_file)
    sessions = session_factory()
    run_uuid = str(flow_run.id) if flow_run.id else None
    with sessions.begin() as session:
        closed = store.close_abandoned_runs(session)
    if closed:
        log.warning("marked %d abandoned crawl run(s) failed", closed)
    # A connection of the run's own holds its liveness lock until the run ends or dies.
    liveness = Session(bind=sessions.kw["bind"].connect())
    run_id = store.start_run(liveness, flow_name, _jsonable(parameters), run_uuid)
    store.hold_run_lock(liveness, run_id)
    liveness.commit()
    pipeline = Pipeline(sessions, sources, watchlist, run_id=run_id, settings=settings,
                        progress=progress_hook)
    status, error = "failed", None
    try:
        yield pipeline
        status = "completed"
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        counts = pipeline.counts.as_dict()
        with sessions.begin() as session:
            store.finish_run(session, run_id, status, counts, error)
            if _changed_content(flow_name, counts):
                refresh_analytics(session)
        store.release_run_lock(liveness, run_id)
        liveness.close()
        liveness.bind.close()
        _artifact(flow_name, run_id, status, counts)
        if flow_name == "nightly":
            _weekly_artifact(sessions)


def _changed_content(flow_name: str, counts: dict) -> bool:
    """Whether the run may have changed what the materialised views aggregate: a crawl
    that stored no version and marked nothing gone did not (and a refresh of a large
    database costs tens of seconds)."""
    if flow_name not in ("nightly", "ingest"):
        return True
    return bool(counts.get("new_versions") or counts.get("gone"))


def _jsonable(parameters: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in parameters.items()}


def summary_markdown(flow_name: str, run_id: int, status: str, counts: dict) -> str:
    """A short markdown summary of a run (its Prefect artifact)."""
    lines = [f"# hubwatch {flow_name} run {run_id}: {status}", "", "| measure | value |",
             "| --- | --- |"]
    for key in ("pages_fetched", "discovery_fetches", "not_modified", "new_documents",
                "new_versions", "gone", "errors", "duplicates_skipped"):
        lines.append(f"| {key.replace('_', ' ')} | {counts.get(key, 0)} |")
    mentions = counts.get("mentions_by_entity") or {}
    lines += ["", "Mentions in new versions by entity: "
              + (", ".join(f"{k} {v}" for k, v in sorted(mentions.items())) or "none")]
    errors = Counter(counts.get("outcomes") or {}) + Counter(counts.get("discovery_outcomes") or {})
    errors = {k: v for k, v in errors.items() if k not in ("ok", "not_modified", "gone")}
    if errors:
        lines.append("Errors by outcome: " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items())))
    return "\n".join(lines) + "\n"


def _weekly_artifact(sessions) -> None:
    """The weekly mention-trend summary (as `hubwatch report` writes it), as an artifact."""
    if flow_run.id is None:
        return
    try:
        from hubwatch.cli.analyst import weekly_summary_markdown

        with sessions() as session:
            markdown = weekly_summary_markdown(session, 8)
        create_markdown_artifact(key="weekly-mentions", markdown=markdown,
                                 description="hubwatch weekly mention trends (8 weeks)")
    except Exception:  # a report, never a reason to fail the run
        log.warning("could not create the weekly summary artifact", exc_info=True)


def _artifact(flow_name: str, run_id: int, status: str, counts: dict) -> None:
    if flow_run.id is None:
        return
    try:
        create_markdown_artifact(key=f"{flow_name}-summary",
                                 markdown=summary_markdown(flow_name, run_id, status, counts),
                                 description=f"hubwatch {flow_name} run summary")
    except Exception:  # an artifact is a report, never a reason to fail the run
        log.warning("could not create the run artifact", exc_info=True)


# -- tasks: one per batch ------------------------------------------------------------

@task(name="crawl-source", cache_policy=NO_CACHE)
def crawl_source_task(pipeline: Pipeline, fetcher: Fetcher, slug: str, max_pages: int | None,
                      since: dt.date | None, dry_run: bool) -> list[str]:
    source = pipeline.sources[slug]
    found = pipeline.crawl_source(source, fetcher, max_pages=max_pages, since=since,
                                  dry_run=dry_run)
    get_run_logger().info("%s: %d candidate pages", slug, len(found))
    return [c.url for c in found]


@task(name="fetch-urls", cache_policy=NO_CACHE)
def fetch_urls_task(pipeline: Pipeline, fetcher: Fetcher, urls: list[str]) -> int:
    pipeline.fetch_and_store(urls, fetcher, None)
    return len(urls)


@task(name="import-warc-file", cache_policy=NO_CACHE)
def import_warc_task(pipeline: Pipeline, path: str) -> None:
    pipeline.import_warc(path)


def _crawl(flow_name: str, sources: list[str] | None, urls: list[str] | None,
           max_pages: int | None, since: dt.date | None, dry_run: bool) -> dict:
    params = dict(sources=sources, urls=urls, max_pages=max_pages, since=since, dry_run=dry_run)
    with crawl_run(flow_name, params) as pipeline, Fetcher(fetch_settings(), host_gate=host_gate_for(
            pipeline.sources.values(), pipeline.settings.host_delay_seconds)) as fetcher:
        futures = []
        if urls:
            wanted = list(dict.fromkeys(urls))
            if not dry_run:
                for i in range(0, len(wanted), URL_CHUNK):
                    futures.append(fetch_urls_task.submit(pipeline, fetcher, wanted[i:i + URL_CHUNK]))
        if sources or not urls:
            chosen = select_sources(list(pipeline.sources.values()), sources)
            for src in chosen:
                futures.append(crawl_source_task.submit(pipeline, fetcher, src.slug, max_pages,
                                                        since, dry_run))
        for fut in futures:
            fut.result(raise_on_failure=False)
        return pipeline.counts.as_dict() | {"run_id": pipeline.run_id}


@flow(name="nightly", task_runner=ThreadPoolTaskRunner(max_workers=4))
def nightly(max_pages: int | None = None) -> dict:
    """Crawl every active source (the scheduled job). Returns the run's counts, or
    ``{"skipped": reason}`` when the run starts too late (hubwatch.flows.deployments.late_start_reason)."""
    late = late_start_reason(flow_run.scheduled_start_time)
    if late:
        get_run_logger().warning("nightly %s", late)
        return {"skipped": late}
    return _crawl("nightly", None, None, max_pages, None, False)


@flow(name="ingest", task_runner=ThreadPoolTaskRunner(max_workers=4), validate_parameters=True)
def ingest(sources: list[str] | None = None, urls: list[str] | None = None,
           max_pages: int | None = None, since: dt.date | None = None,
           dry_run: bool = False) -> dict:
    """Crawl by hand: the named ``sources`` (slugs) and/or exactly the given ``urls``.

    ``max_pages`` caps pages per source; ``since`` (a date in Asia/Shanghai) drops
    discovered items dated before it; ``dry_run`` discovers without fetching pages.
    """
    return _crawl("ingest", sources, urls, max_pages, since, dry_run)


@flow(name="import-warc", task_runner=ThreadPoolTaskRunner(max_workers=1))
def import_warc(paths: list[str]) -> dict:
    """Backfill from WARC files, each response a fetch at its archive date (in order)."""
    with crawl_run("import-warc", {"paths": paths}) as pipeline:
        for path in paths:  # in order: a later file's captures build on the earlier ones
            import_warc_task.submit(pipeline, path).result(raise_on_failure=False)
        return pipeline.counts.as_dict() | {"run_id": pipeline.run_id}


@flow(name="reprocess")
def reprocess(extract: bool = False, since: dt.date | None = None) -> dict:
    """Bring stored versions up to date with the watch-list (and, with ``extract``, the
    extractor) without refetching. Returns mentions added/removed per entity."""
    from hubwatch.pipeline.reprocess import reprocess_versions

    with crawl_run("reprocess", {"extract": extract, "since": since}) as pipeline:
        report = reprocess_versions(pipeline.sessions, pipeline, extract=extract, since=since)
        pipeline.counts.mentions.update(report.added)
        return report.as_dict() | {"run_id": pipeline.run_id}
