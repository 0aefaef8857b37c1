"""Prefect flows: ``nightly``, ``ingest``, ``import-warc``, ``reprocess``.

They only orchestrate: the run's lifecycle is :func:`hubwatch.pipeline.runs.crawl_run`, its
work :mod:`hubwatch.pipeline.ingest` and :mod:`hubwatch.pipeline.reprocess`. One task per
batch (a source, a chunk of URLs, a WARC file, never one page), because Prefect's per-task
cost would otherwise dominate. Tasks take plain values (a run id, slugs, URLs, paths) and
rebuild what they need, so they run under any task runner or on a work pool's workers;
they hand their counts back as plain dicts. Each run leaves a markdown artifact
summarising it (the nightly also the weekly briefing's summary).

No ``from __future__ import annotations`` here: Prefect builds the deployments'
parameter schemas from these signatures (see shared notes on ``flow.serve``).
"""

import datetime as dt
import logging
from collections import Counter

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import select_sources
from hubwatch.flows.deployments import (
    catch_up_since,
    forward_domain_logs,
    is_late,
    late_start_reason,
    newer_scheduled_runs,
)
from hubwatch.outcomes import SUCCEEDED
from hubwatch.pipeline.cancel import stop_on_signals
from hubwatch.pipeline.ingest import ProgressHook
from hubwatch.pipeline.runs import RunHandle, crawl_run, run_batch

log = logging.getLogger(__name__)

URL_CHUNK = 50  # URLs per task in `ingest`

#: Set by the CLI to drive its progress bar; flows run fine without it.
progress_hook: ProgressHook | None = None


def _task_runner(workers: int | None = None) -> ThreadPoolTaskRunner:
    """The one place task concurrency is set (``HUBWATCH_TASK_WORKERS``)."""
    return ThreadPoolTaskRunner(max_workers=workers or get_settings().crawl.task_workers)


def _run(flow_name: str, parameters: dict):
    forward_domain_logs()
    return crawl_run(flow_name, parameters, flow_run_id=str(flow_run.id) if flow_run.id else None)


def _gather(handle: RunHandle, futures) -> dict:
    """Wait for the batches and merge their counts into the run's; return the run's counts."""
    for fut in futures:
        result = fut.result(raise_on_failure=False)
        if isinstance(result, dict):
            handle.merge(result)
        else:  # the batch raised: its pages were stored or not, each in its own transaction
            log.error("a batch of run %d failed: %s", handle.run_id, result)
            handle.merge({"outcomes": {"batch_failed": 1}})
    return handle.counts.as_dict() | {"run_id": handle.run_id}


def _value(future):
    """A finished task's result, or None when it failed (``_gather`` logged it)."""
    result = future.result(raise_on_failure=False)
    return result if isinstance(result, dict) else None


def summary_markdown(flow_name: str, run_id: int, status: str, counts: dict) -> str:
    """A short markdown summary of a run (its Prefect artifact)."""
    lines = [f"# hubwatch {flow_name} run {run_id}: {status}", "", "| measure | value |",
             "| --- | --- |"]
    for key in ("pages_fetched", "discovery_fetches", "not_modified", "new_documents",
                "new_versions", "gone", "without_text", "errors", "duplicates_skipped", "rechecked",
                "recheck_over_budget"):
        lines.append(f"| {key.replace('_', ' ')} | {counts.get(key, 0)} |")
    mentions = counts.get("mentions_by_entity") or {}
    lines += ["", "Mentions in new versions by entity: "
              + (", ".join(f"{k} {v}" for k, v in sorted(mentions.items())) or "none")]
    errors = Counter(counts.get("outcomes") or {}) + Counter(counts.get("discovery_outcomes") or {})
    errors = {k: v for k, v in errors.items() if k not in SUCCEEDED}
    if errors:
        lines.append("Errors by outcome: " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items())))
    return "\n".join(lines) + "\n"


def _weekly_artifact() -> None:
    """The briefing's summary (as `hubwatch report --weeks 8` writes it), as an artifact."""
    if flow_run.id is None:
        return
    try:
        from hubwatch.models.db import transaction
        from hubwatch.reports.briefing import build_briefing, summary_markdown, today_in_shanghai

        with transaction() as session:
            markdown = summary_markdown(build_briefing(session, 8, today_in_shanghai()))
        create_markdown_artifact(key="weekly-briefing", markdown=markdown,
                                 description="hubwatch briefing: 8 weeks to today (Asia/Shanghai)")
    except Exception:  # a report, never a reason to fail the run
        log.warning("could not create the weekly briefing artifact", exc_info=True)


def _alert_artifacts(handle: RunHandle) -> None:
    """One artifact per alert delivery of the run (status, id, key, row; never a URL)."""
    if flow_run.id is None:
        return
    for d in handle.deliveries:
        try:
            create_markdown_artifact(key=f"alert-{d.alert}", markdown=alert_markdown(d),
                                     description=f"hubwatch alert {d.alert}: {d.row_key}")
        except Exception:  # a report, never a reason to fail the run
            log.warning("could not create the alert artifact", exc_info=True)


def alert_markdown(d) -> str:
    """One delivery as markdown: status, delivery id, key and the row."""
    status = "delivered" if d.error is None else f"failed: {d.error}"
    lines = [f"# alert {d.alert}: {status}", "", f"- delivery id: `{d.delivery_id}`",
             f"- key: `{d.row_key}`", "", "| field | value |", "| --- | --- |"]
    for name, value in d.payload.items():
        lines.append(f"| {name} | {str(value).replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def _artifact(flow_name: str, counts: dict) -> None:
    if flow_run.id is None:
        return
    try:
        create_markdown_artifact(key=f"{flow_name}-summary",
                                 markdown=summary_markdown(flow_name, counts["run_id"], "completed", counts),
                                 description=f"hubwatch {flow_name} run summary")
    except Exception:  # an artifact is a report, never a reason to fail the run
        log.warning("could not create the run artifact", exc_info=True)


# -- tasks: one per batch, plain values in and out ------------------------------------------

@task(name="crawl-source")
def crawl_source_task(run_id: int, slug: str, max_pages: int | None, since: dt.date | None,
                      dry_run: bool, recheck: bool = False) -> dict:
    """Discover and fetch one source (with ``recheck``: as the recheck schedule says, see
    Pipeline.crawl_source); return the batch's counts and its candidate URLs."""
    with run_batch(run_id, progress=progress_hook) as (pipeline, fetcher):
        found = pipeline.crawl_source(pipeline.sources[slug], fetcher, max_pages=max_pages,
                                      since=since, dry_run=dry_run, recheck=recheck)
    get_run_logger().info("%s: %d candidate pages", slug, len(found))
    return pipeline.counts.state() | {"candidates": [
        {"source": slug, "url": c.url, "found_by": c.found_by} for c in found]}


@task(name="fetch-urls")
def fetch_urls_task(run_id: int, urls: list[str]) -> dict:
    """Fetch and store exactly ``urls``; return the batch's counts."""
    with run_batch(run_id, progress=progress_hook) as (pipeline, fetcher):
        pipeline.fetch_and_store(urls, fetcher, None)
    return pipeline.counts.state()


@task(name="import-warc-file")
def import_warc_task(run_id: int, path: str) -> dict:
    """Store every archived response of one WARC file; return the batch's counts."""
    with run_batch(run_id, progress=progress_hook, with_fetcher=False) as (pipeline, _):
        pipeline.import_warc(path)
    return pipeline.counts.state()


#: What a dry run names as the "endpoint" of a URL given on the command line (``-u``).
GIVEN_URL = "given (-u)"


def _crawl(flow_name: str, sources: list[str] | None, urls: list[str] | None,
           max_pages: int | None, since: dt.date | None, dry_run: bool,
           recheck: bool = False) -> dict:
    params = dict(sources=sources, urls=urls, max_pages=max_pages, since=since, dry_run=dry_run)
    wanted = list(dict.fromkeys(urls or []))  # given URLs, each once, in the order given
    with _run(flow_name, params) as handle, stop_on_signals(handle.cancellation):
        futures = []
        if wanted and not dry_run:
            for i in range(0, len(wanted), URL_CHUNK):
                futures.append(fetch_urls_task.submit(handle.run_id, wanted[i:i + URL_CHUNK]))
        if sources or not urls:
            for src in select_sources(handle.sources, sources):
                futures.append(crawl_source_task.submit(handle.run_id, src.slug, max_pages,
                                                        since, dry_run, recheck))
        counts = _gather(handle, futures)
        if dry_run:  # what a real run would fetch, and which endpoint listed each
            given = [{"source": None, "url": u, "found_by": GIVEN_URL} for u in wanted]
            counts["candidates"] = given + [c for fut in futures
                                            for c in (_value(fut) or {}).get("candidates", [])]
    _artifact(flow_name, counts)
    _alert_artifacts(handle)
    if flow_name == "nightly":
        _weekly_artifact()
    return counts


@flow(name="nightly", task_runner=_task_runner())
def nightly(max_pages: int | None = None):
    """Crawl every active source (the scheduled job). Returns the run's counts.

    After an outage (hubwatch.flows.deployments.late_start_reason): a late run with a newer
    scheduled run due behind it ends Cancelled, the reason in its state message; the
    newest late run is the catch-up run: its discovery ``since`` is the day of the last
    successful nightly run (counts ``catch_up_since``), and its rechecks take everything
    that fell due meanwhile (within the per-host budget).
    """
    from prefect.runtime import deployment
    from prefect.states import Cancelled

    scheduled = flow_run.scheduled_start_time if deployment.id else None
    since = None
    if scheduled is not None and is_late(scheduled):
        newer = newer_scheduled_runs(deployment.id, flow_run.id, scheduled)
        reason = late_start_reason(scheduled, newer=newer)
        if reason:
            get_run_logger().warning("nightly %s", reason)
            return Cancelled(message=reason)
        since = catch_up_since(_last_successful_nightly())
        get_run_logger().warning("nightly starting late: the catch-up run, discovery since %s",
                                 since)
    counts = _crawl("nightly", None, None, max_pages, since, False, recheck=True)
    return counts | ({"catch_up_since": since.isoformat()} if since else {})


def _last_successful_nightly():
    from hubwatch.models.db import transaction
    from hubwatch.models.store import last_completed_run

    with transaction() as session:
        return last_completed_run(session, "nightly")


@flow(name="ingest", task_runner=_task_runner(), validate_parameters=True)
def ingest(sources: list[str] | None = None, urls: list[str] | None = None,
           max_pages: int | None = None, since: dt.date | None = None,
           dry_run: bool = False) -> dict:
    """Crawl by hand: the named ``sources`` (slugs) and/or exactly the given ``urls``.

    ``max_pages`` caps pages per source; ``since`` (a date in Asia/Shanghai) drops
    discovered items dated before it; ``dry_run`` discovers without fetching pages.
    """
    return _crawl("ingest", sources, urls, max_pages, since, dry_run)


@flow(name="import-warc", task_runner=_task_runner(1))
def import_warc(paths: list[str]) -> dict:
    """Backfill from WARC files, each response a fetch at its archive date (in order:
    a later file's captures build on the earlier ones, so one worker)."""
    with _run("import-warc", {"paths": paths}) as handle:
        futures = []
        for path in paths:
            futures.append(import_warc_task.submit(handle.run_id, path))
            futures[-1].wait()
        counts = _gather(handle, futures)
    _artifact("import-warc", counts)
    _alert_artifacts(handle)
    return counts


@flow(name="reprocess")
def reprocess(extract: bool = False, since: dt.date | None = None) -> dict:
    """Bring stored versions up to date with the watch-list (and, with ``extract``, the
    extractor) without refetching. Returns mentions added/removed per entity."""
    from hubwatch.pipeline.reprocess import reprocess_versions

    with _run("reprocess", {"extract": extract, "since": since}) as handle:
        pipeline = handle.pipeline(progress_hook)
        report = reprocess_versions(pipeline.sessions, pipeline, extract=extract, since=since)
        handle.counts.mentions.update(report.added)
        result = report.as_dict() | {"run_id": handle.run_id}
    _artifact("reprocess", handle.counts.as_dict() | {"run_id": handle.run_id})
    _alert_artifacts(handle)
    return result
