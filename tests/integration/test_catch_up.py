"""After an outage, one catch-up run (issue 12 point 8): three nightly runs of a deployment
missed (scheduled 3, 2 and 1 days ago) are handed to the engine at once, oldest first, as a
runner does after a restart; the two older end Cancelled with the reason in their state
message, the newest runs, with discovery ``since`` the day of the last successful run."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, text
from support.sitegen import SiteServer, write_sources

from hubwatch.config.settings import get_settings

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("prefect_harness")]


def test_three_missed_nights_one_catch_up_two_cancelled(clean_db, monkeypatch, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow
    from prefect.states import Scheduled

    from hubwatch.flows.orchestration import nightly

    monkeypatch.setenv("HUBWATCH_SOURCES_FILE", str(tmp_path / "sources.yaml"))
    monkeypatch.setenv("HUBWATCH_HOST_DELAY_SECONDS", "0")
    monkeypatch.setenv("HUBWATCH_NIGHTLY_GRACE_MINUTES", "60")
    get_settings.cache_clear()
    engine = create_engine(clean_db)
    with SiteServer(pages=3) as site:
        write_sources(tmp_path / "sources.yaml", site)
        # The last successful nightly ran an hour after article 2 was published; article 3
        # is older still: the catch-up run's discovery keeps articles 1 and 2 only.
        last_ok = site.articles[1].published + dt.timedelta(hours=1)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO crawl_run (flow_name, started_at, ended_at, run_status) "
                              "VALUES ('nightly', :t, :t, 'completed')"), {"t": last_ok})
        kept = {a.path for a in site.articles[:2]}
        deployment_id = nightly.to_deployment(name="catch-up-test").apply()
        now = dt.datetime.now(dt.UTC)
        with get_client(sync_client=True) as client:
            runs = [client.create_flow_run_from_deployment(
                deployment_id, state=Scheduled(scheduled_time=now - dt.timedelta(days=d)))
                for d in (3, 2, 1)]
            for run in runs:  # oldest first, as the runner picks them up
                run_flow(nightly, flow_run=client.read_flow_run(run.id), return_type="state")
            final = [client.read_flow_run(r.id).state for r in runs]
        crawled = {r.path for r in site.requested("/news/")}
    assert [s.type.value for s in final] == ["CANCELLED", "CANCELLED", "COMPLETED"]
    for state in final[:2]:
        assert "cancelled: scheduled for" in state.message and "catches up instead" in state.message
    assert crawled == kept
    with engine.connect() as conn:
        runs_rows = conn.execute(text(
            "SELECT parameters, counts FROM crawl_run WHERE flow_run_id IS NOT NULL")).all()
    engine.dispose()
    get_settings.cache_clear()
    assert len(runs_rows) == 1  # the cancelled runs opened no crawl run
    shanghai_day = last_ok.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    assert runs_rows[0].parameters["since"] == shanghai_day
