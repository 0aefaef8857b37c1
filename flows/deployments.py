"""The deployments of ``prefect.yaml``, served from one process (``hubwatch serve``).

``prefect.yaml`` is the one definition: ``prefect deploy --all`` registers it for a
process work pool, and :func:`serve_all` reads the same file and serves the same
deployments with ``prefect.serve`` (no work pool needed). Both turn a schedule entry
into a Prefect ``Cron`` schedule with its time zone; ``tests/unit/test_deployments.py`` checks
that they agree.

Also here: the late-start rule of the nightly (:func:`late_start_reason`).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from hubwatch.config.settings import get_settings

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
#: Loggers whose records reach Prefect's run logs (PREFECT_LOGGING_EXTRA_LOGGERS).
DOMAIN_LOGGERS = ("hubwatch",)


# -- reading prefect.yaml ------------------------------------------------------------------

def prefect_yaml_path(path: str | Path | None = None) -> Path:
    """``path``, else ``HUBWATCH_PREFECT_YAML``, else ``./prefect.yaml``, else the checkout's."""
    if path is not None:
        return Path(path)
    configured = get_settings().schedule.prefect_yaml
    if configured is not None:
        return configured
    here = Path.cwd() / "prefect.yaml"
    return here if here.is_file() else REPO / "prefect.yaml"


def load_deployment_specs(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The ``deployments`` entries of prefect.yaml, as plain dicts.

    Raises:
        ValueError: the file has no deployments, or an entry lacks ``name`` or
            ``entrypoint`` (``path/to/file.py:function``).
    """
    file = prefect_yaml_path(path)
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    specs = data.get("deployments") or []
    if not specs:
        raise ValueError(f"{file}: no deployments")
    for i, spec in enumerate(specs):
        if not spec.get("name") or ":" not in str(spec.get("entrypoint", "")):
            raise ValueError(f"{file}: deployments[{i}] needs a name and an entrypoint "
                             "'path/to/file.py:function'")
    return specs


def flow_for(entrypoint: str):
    """The flow object an entrypoint ``hubwatch.flows.orchestration:nightly`` names
    (a module path, so that it works from an installed package)."""
    module_name, _, attr = entrypoint.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def schedules_for(spec: dict[str, Any]) -> list:
    """The entry's ``schedules`` as Prefect schedules (cron with time zone only: an
    interval anchored in a skipped DST hour drifts for good, see the shared notes)."""
    from prefect.schedules import Cron

    out = []
    for item in spec.get("schedules") or []:
        if "cron" not in item:
            raise ValueError(f"deployment {spec['name']!r}: only cron schedules are supported")
        if not item.get("timezone"):
            raise ValueError(f"deployment {spec['name']!r}: a schedule must name its timezone")
        out.append(Cron(item["cron"], timezone=item["timezone"], day_or=item.get("day_or", True),
                        active=item.get("active", True), parameters=item.get("parameters") or {},
                        slug=item.get("slug")))
    return out


def _concurrency(spec: dict[str, Any]):
    value = spec.get("concurrency_limit")
    if value is None or isinstance(value, int):
        return value
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    strategy = value.get("collision_strategy")
    return ConcurrencyLimitConfig(limit=value["limit"], collision_strategy=(
        ConcurrencyLimitStrategy(strategy) if strategy else ConcurrencyLimitStrategy.ENQUEUE))


def runner_deployments(path: str | Path | None = None) -> list:
    """prefect.yaml's deployments as ``RunnerDeployment`` objects for ``prefect.serve``."""
    from prefect.deployments.runner import EntrypointType

    deployments = []
    for spec in load_deployment_specs(path):
        flow = flow_for(spec["entrypoint"])
        deployments.append(flow.to_deployment(
            name=spec["name"], schedules=schedules_for(spec), description=spec.get("description"),
            tags=spec.get("tags"), parameters=spec.get("parameters") or {},
            concurrency_limit=_concurrency(spec), paused=spec.get("paused"),
            enforce_parameter_schema=spec.get("enforce_parameter_schema", True),
            entrypoint_type=EntrypointType.MODULE_PATH))
    return deployments


def forward_domain_logs(level: int = logging.INFO) -> None:
    """Let the domain loggers' ``level`` records reach Prefect's run logs.

    ``PREFECT_LOGGING_EXTRA_LOGGERS`` gives these loggers Prefect's API handler but not a
    level, so they would inherit the root logger's WARNING and drop INFO records. Only
    loggers without a level of their own are changed. Idempotent.
    """
    for name in DOMAIN_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)


def serve_all(path: str | Path | None = None, *, limit: int | None = None) -> None:
    """Serve every deployment of prefect.yaml from this process until it is stopped.

    Needs ``PREFECT_API_URL`` (a Prefect server). Flow runs execute in child processes
    of this one. ``pause_on_shutdown=False``: a stop or a crash leaves the schedules
    active, so the nightly is still scheduled after a restart. ``limit``: flow runs at
    once (None: no limit). Domain loggers are forwarded to Prefect's run logs.
    """
    from prefect import serve

    extra = os.environ.get("PREFECT_LOGGING_EXTRA_LOGGERS", "")
    names = [n for n in extra.split(",") if n.strip()]
    os.environ["PREFECT_LOGGING_EXTRA_LOGGERS"] = ",".join(
        dict.fromkeys([*names, *DOMAIN_LOGGERS]))  # read by the flow-run processes at start
    deployments = runner_deployments(path)
    log.info("serving %d deployments: %s", len(deployments),
             ", ".join(f"{d.flow_name}/{d.name}" for d in deployments))
    serve(*deployments, pause_on_shutdown=False, limit=limit)


# -- the late-start rule -------------------------------------------------------------------

def late_start_reason(scheduled_start: dt.datetime | None, now: dt.datetime | None = None,
                      grace_minutes: float | None = None,
                      newer: Sequence[dt.datetime] = ()) -> str | None:
    """Why a run scheduled for ``scheduled_start`` should be cancelled instead of run, or
    None.

    After an outage, Prefect hands the runner every missed nightly run at once; running
    them all would crawl the same pages several times in a row. So a run is cancelled when
    it starts more than ``grace_minutes`` (default ``HUBWATCH_NIGHTLY_GRACE_MINUTES``) after
    its scheduled time *and* a newer scheduled run of the same deployment is due too
    (``newer``: their scheduled times; those after ``now`` do not count). The newest late
    run is never cancelled, however late: it is the one catch-up run, covering the time
    since the last successful run (:func:`catch_up_since`). Times are aware (any zone);
    ``now`` defaults to the current time.
    """
    if scheduled_start is None:
        return None
    grace = get_settings().schedule.nightly_grace_minutes if grace_minutes is None else grace_minutes
    now = now or dt.datetime.now(dt.UTC)
    late = now - scheduled_start
    if late <= dt.timedelta(minutes=grace):
        return None
    behind = sorted(t for t in newer if scheduled_start < t <= now)
    if not behind:
        return None
    return (f"cancelled: scheduled for {scheduled_start.astimezone(dt.UTC).isoformat()}, starting "
            f"{late.total_seconds() / 60:.0f} min late (grace {grace:g} min); the newer run "
            f"scheduled for {behind[-1].astimezone(dt.UTC).isoformat()} catches up instead")


def is_late(scheduled_start: dt.datetime | None, now: dt.datetime | None = None,
            grace_minutes: float | None = None) -> bool:
    """Whether a run starts more than the grace period after its scheduled time."""
    if scheduled_start is None:
        return False
    grace = get_settings().schedule.nightly_grace_minutes if grace_minutes is None else grace_minutes
    return (now or dt.datetime.now(dt.UTC)) - scheduled_start > dt.timedelta(minutes=grace)


def newer_scheduled_runs(deployment_id, flow_run_id, scheduled_start: dt.datetime,
                         now: dt.datetime | None = None) -> list[dt.datetime]:
    """Scheduled start times of the deployment's other flow runs scheduled after
    ``scheduled_start`` and by ``now``, that are not cancelled (any other state: still
    scheduled, late, pending, running or done), read from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    now = now or dt.datetime.now(dt.UTC)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(not_any_=[flow_run_id]),
                expected_start_time=FlowRunFilterExpectedStartTime(
                    after_=scheduled_start + dt.timedelta(seconds=1), before_=now),
                state=FlowRunFilterState(type=FlowRunFilterStateType(
                    not_any_=[StateType.CANCELLED, StateType.CANCELLING]))),
            limit=50)
    return [r.expected_start_time for r in runs if r.expected_start_time]


def catch_up_since(last_success: dt.datetime | None, tz: str = "Asia/Shanghai") -> dt.date | None:
    """The discovery ``since`` of a catch-up run: the day (in ``tz``) of the last successful
    nightly run, so items published during the outage are found; None when there was none."""
    if last_success is None:
        return None
    from zoneinfo import ZoneInfo

    return last_success.astimezone(ZoneInfo(tz)).date()
