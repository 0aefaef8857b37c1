"""End to end through a real Prefect server: ``hubwatch serve`` serves prefect.yaml's
deployments, ``prefect deployment run 'ingest/manual' -p urls=[...]`` stores exactly those
pages, of two late nightly runs the older is cancelled and the newer catches up, and stopping ``serve`` leaves the schedules on.

The database URL handed to the flows carries a password (the test server's own, or a
made-up one that trust authentication ignores): it must appear in no log line, no flow
run record and no artifact.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from support.prefect_server import PREFECT, REPO, PrefectServer, hubwatch, stop_process, wait_until
from support.sitegen import SiteServer, expected, write_sources

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def server():
    return PrefectServer.shared()


@pytest.fixture
def secret_url(clean_db):
    """``(url, secret)``: the test database URL with a password in it."""
    url = make_url(clean_db)
    secret = url.password or f"pw-{uuid.uuid4().hex}"
    return url.set(password=secret).render_as_string(hide_password=False), secret


@pytest.fixture
def served(server, secret_url, tmp_path):
    """``hubwatch serve`` against the server and the test database; yields its context."""
    url, secret = secret_url
    with SiteServer(pages=6) as site:
        sources = write_sources(tmp_path / "sources.yaml", site, delay_seconds=0.05)
        env = server.hubwatch_env(tmp_path / "serve-home", DATABASE_URL=url,
                                  HUBWATCH_SOURCES_FILE=str(sources), HUBWATCH_RETRIES="1",
                                  HUBWATCH_NIGHTLY_GRACE_MINUTES="60")
        log_path = tmp_path / "serve.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(hubwatch("serve"), cwd=REPO, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: proc.poll() is None and server.deployment("reprocess/manual"),
                       180, "hubwatch serve to register the deployments", log_path)
            yield dict(site=site, env=env, proc=proc, log=log_path, url=url, secret=secret)
        finally:
            stop_process(proc)


def _trigger(env, *args: str) -> tuple[str, str]:
    """``prefect deployment run ARGS --watch``: (flow run id, output)."""
    done = subprocess.run([PREFECT, "deployment", "run", *args, "--watch", "--watch-interval",
                           "1", "--watch-timeout", "300"],
                          env=env, capture_output=True, text=True, timeout=400)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    found = re.search(r"UUID:\s*([0-9a-f-]{36})", output)
    assert found, output
    return found.group(1), output


def test_serve_manual_trigger_stores_exactly_the_urls(server, served):
    site, env = served["site"], served["env"]
    wanted = site.article_urls()[1:4]
    run_id, output = _trigger(env, "ingest/manual", "-p", f"urls={json.dumps(wanted)}")
    run = server.wait_final(run_id)
    assert run["state"]["type"] == "COMPLETED", output
    assert run["parameters"]["urls"] == wanted

    engine = create_engine(served["url"])
    with engine.connect() as conn:
        stored = {r[0] for r in conn.execute(text("SELECT url FROM document_url"))}
        docs = conn.execute(text("SELECT count(*) FROM document")).scalar()
        crawl = conn.execute(text("SELECT flow_name, run_status, flow_run_id::text FROM crawl_run")).all()
        mentions = conn.execute(text("SELECT count(*) FROM current_mentions")).scalar()
    engine.dispose()
    assert docs == 3 and set(wanted) <= stored
    assert not stored & set(site.article_urls()[4:] + site.article_urls()[:1])
    assert crawl == [("ingest", "completed", run_id)]
    articles = [a for a in site.articles if site.url(a.path) in wanted]
    assert mentions == expected(articles).mentions
    assert {r.path for r in site.requested("/news/")} == {a.path for a in articles}

    # A domain logger's line reaches the run's logs (they arrive shortly after the run).
    wait_until(lambda: any(line.startswith("hubwatch.crawl.politeness:") for line in server.logs(run_id)),
               60, "the domain logger's line in the run logs")
    logs = server.logs(run_id)
    _assert_no_secret(server, served, run_id, logs)


def _assert_no_secret(server, served, run_id: str, logs: list[str]) -> None:
    secret = served["secret"]
    artifacts = server.api("POST", "/artifacts/filter", {"limit": 50})
    assert any(a.get("flow_run_id") == run_id for a in artifacts)  # the run summary
    seen = [json.dumps(artifacts), json.dumps(server.flow_run(run_id)), "\n".join(logs),
            served["log"].read_text(errors="replace")]
    assert not [s for s in seen if secret in s]


def test_late_nightlies_one_catch_up_and_schedules_survive_stop(server, served):
    site = served["site"]
    nightly = server.deployment("nightly/scheduled")
    schedule = nightly["schedules"][0]["schedule"]
    assert (schedule["cron"], schedule["timezone"]) == ("0 2 * * *", "Asia/Shanghai")
    _assert_future_runs_at_02_shanghai(server, nightly["id"])

    # Two runs that should have started three and two hours ago (past this test's 60 min
    # grace), as after an outage: the older ends Cancelled with its reason, the newer is
    # the one catch-up run.
    now = dt.datetime.now(dt.UTC)
    runs = [server.api("POST", f"/deployments/{nightly['id']}/create_flow_run", {
        "state": {"type": "SCHEDULED", "state_details": {
            "scheduled_time": (now - dt.timedelta(hours=h)).isoformat()}}}) for h in (3, 2)]
    older, newer = (server.wait_final(r["id"]) for r in runs)
    assert older["state"]["type"] == "CANCELLED"
    assert "catches up instead" in older["state"]["message"]
    assert newer["state"]["type"] == "COMPLETED"
    engine = create_engine(served["url"])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM crawl_run")).scalar() == 1
    engine.dispose()
    assert site.requested("/")  # the catch-up run crawled

    stop_process(served["proc"])  # SIGTERM, as systemd or docker stop would
    after = server.deployment("nightly/scheduled")
    assert after["paused"] is False
    assert all(s["active"] for s in after["schedules"])


def _assert_future_runs_at_02_shanghai(server, deployment_id: str) -> None:
    """The server's scheduler created the coming nightly runs at 02:00 Beijing time."""
    def scheduled():
        return server.api("POST", "/flow_runs/filter", {
            "flow_runs": {"deployment_id": {"any_": [deployment_id]},
                          "state": {"type": {"any_": ["SCHEDULED"]}}}, "limit": 10})

    wait_until(lambda: len(scheduled()) >= 3, 120, "the scheduler to create nightly runs")
    shanghai = dt.timezone(dt.timedelta(hours=8))
    starts = sorted(dt.datetime.fromisoformat(r["expected_start_time"]) for r in scheduled())
    assert all(s.astimezone(shanghai).time() == dt.time(2, 0) for s in starts)
    assert all((b - a) == dt.timedelta(days=1) for a, b in zip(starts, starts[1:]))
    assert starts[0] > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)


def test_same_deployments_run_on_a_process_work_pool(server, secret_url, tmp_path):
    """``prefect deploy --all`` + ``prefect worker start``: the path for more machines."""
    url, _ = secret_url
    with SiteServer(pages=4) as site:
        sources = write_sources(tmp_path / "sources.yaml", site)
        env = server.hubwatch_env(tmp_path / "worker-home", DATABASE_URL=url,
                                  HUBWATCH_SOURCES_FILE=str(sources), HUBWATCH_RETRIES="1")
        for args in (["work-pool", "create", "hubwatch", "--type", "process", "--overwrite"],
                     ["--no-prompt", "deploy", "--all"]):
            done = subprocess.run([PREFECT, *args], cwd=REPO, env=env, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
        assert server.deployment("ingest/manual")["work_pool_name"] == "hubwatch"
        log_path = tmp_path / "worker.log"
        with open(log_path, "wb") as log:
            worker = subprocess.Popen([PREFECT, "worker", "start", "--pool", "hubwatch"], cwd=REPO,
                                      env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        try:
            wanted = site.article_urls()[:2]
            run_id, output = _trigger(env, "ingest/manual", "-p", f"urls={json.dumps(wanted)}")
            assert server.wait_final(run_id)["state"]["type"] == "COMPLETED", output
        finally:
            stop_process(worker)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM document")).scalar() == 2
        assert conn.execute(text("SELECT flow_run_id::text FROM crawl_run")).all() == [(run_id,)]
    engine.dispose()
