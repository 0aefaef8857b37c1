"""Alerts over a local webhook (apprise's ``json://`` target): each matching row is
delivered once over two writing runs, again with the same delivery id after a crash
between sending and recording, retried after a failure; the file is validated like the
others; target URLs never reach logs or the database (issue 14, point 3)."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from support.analyst_seed import seed
from support.webhook import Webhook
from typer.testing import CliRunner

from hubwatch.alerts.deliver import run_alerts
from hubwatch.cli.main import app
from hubwatch.config.alerts import load_alerts
from hubwatch.config.loader import ConfigError
from hubwatch.config.settings import get_settings
from hubwatch.models.alerts import delivery_id
from hubwatch.models.analytics import refresh_analytics
from hubwatch.pipeline.diffs import update_version_diffs

pytestmark = pytest.mark.db

GBA_ALERT = """alerts:
  - name: gba-watch
    watch:
      filter:
        events: [new_document, new_mention]
        entities: [gba]
    targets: [HUBWATCH_TEST_HOOK]
"""


def _write(tmp_path, body: str):
    path = tmp_path / "alerts.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.usefixtures("prefect_harness")
def test_two_writing_runs_deliver_each_row_once(shared_dir, clean_db, tmp_path, monkeypatch):
    warc = shared_dir / "corpus" / "warc"
    engine = create_engine(clean_db)
    with Webhook() as hook:
        monkeypatch.setenv("HUBWATCH_ALERTS_FILE", str(_write(tmp_path, GBA_ALERT)))
        monkeypatch.setenv("HUBWATCH_TEST_HOOK", hook.url)
        get_settings.cache_clear()
        runner = CliRunner()
        first = runner.invoke(app, ["import-warc", str(warc / "policy-day1.warc.gz")])
        assert first.exit_code == 0, first.output
        with engine.connect() as conn:
            day1 = {f"new_document:{d}" for (d,) in conn.execute(text(
                "SELECT DISTINCT document_id FROM document_entities WHERE hub = 'gba'"))}
        assert day1 and {m["key"] for m in hook.messages} == day1
        second = runner.invoke(app, ["import-warc", str(warc / "policy-day2.warc.gz")])
        assert second.exit_code == 0, second.output
        with engine.connect() as conn:
            edits = {f"new_mention:{v}:{e}" for v, e in conn.execute(text(
                "SELECT version_id, entity FROM mention_changes WHERE hub = 'gba' AND added > 0"))}
            stored = conn.execute(text(
                "SELECT row_key, delivery_id, status, attempts FROM alert_delivery")).all()
    get_settings.cache_clear()
    engine.dispose()
    keys = [m["key"] for m in hook.messages]
    assert len(edits) == 3 and sorted(keys) == sorted(day1 | edits)  # each once, none missing
    for m in hook.messages:
        assert m["delivery_id"] == str(delivery_id("gba-watch", m["key"]))
        assert m["alert"] == "gba-watch" and m["row"]["url"].startswith("http")
    assert {(r.row_key, str(r.delivery_id), r.status, r.attempts) for r in stored} == {
        (m["key"], m["delivery_id"], "sent", 1) for m in hook.messages}
    artifacts = _artifacts("alert-gba-watch")
    assert len(artifacts) == len(keys)
    assert all("delivered" in a and hook.url not in a for a in artifacts)


def _artifacts(key: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return [a.data for a in found]


@pytest.fixture
def seeded(clean_db):
    engine = create_engine(clean_db)
    with Session(engine) as session, session.begin():
        seed(session)
        update_version_diffs(session)
        refresh_analytics(session)
    yield sessionmaker(engine, expire_on_commit=False), engine
    with Session(engine) as session, session.begin():
        session.execute(text("TRUNCATE alert_delivery, source, entity RESTART IDENTITY CASCADE"))
        refresh_analytics(session, concurrently=False)
    engine.dispose()


SQL_ALERT = """alerts:
  - name: english-sources
    watch:
      sql: SELECT document_id AS key, url, title FROM current_documents WHERE language = 'en'
    targets: [HUBWATCH_TEST_HOOK]
"""


class Crash(RuntimeError):
    pass


def test_crash_between_send_and_record_resends_with_the_same_id(seeded, tmp_path):
    sessions, engine = seeded
    alerts = load_alerts(_write(tmp_path, SQL_ALERT))
    with Webhook() as hook:
        env = {"HUBWATCH_TEST_HOOK": hook.url}

        def crash(delivery):
            raise Crash(delivery.row_key)

        with pytest.raises(Crash):
            run_alerts(sessions, alerts, environ=env, after_send=crash)
        assert len(hook.messages) == 1
        crashed = hook.messages[0]
        second = run_alerts(sessions, alerts, environ=env)
        third = run_alerts(sessions, alerts, environ=env)
    with engine.connect() as conn:
        english = {str(d) for (d,) in conn.execute(text(
            "SELECT document_id FROM current_documents WHERE language = 'en'"))}
    keys = [m["key"] for m in hook.messages]
    assert set(keys) == english  # none missing
    assert keys.count(crashed["key"]) == 2 and len(keys) == len(english) + 1
    again = [m for m in hook.messages[1:] if m["key"] == crashed["key"]]
    assert again[0]["delivery_id"] == crashed["delivery_id"]
    assert len(second) == len(english) and third == []
    assert uuid.UUID(crashed["delivery_id"]).version == 5


def test_failed_delivery_is_recorded_and_retried(seeded, tmp_path, caplog):
    sessions, engine = seeded
    alerts = load_alerts(_write(tmp_path, SQL_ALERT))
    caplog.set_level(logging.DEBUG)
    with Webhook() as hook:
        hook.status = 500
        failed = run_alerts(sessions, alerts, environ={"HUBWATCH_TEST_HOOK": hook.url})
        assert failed and all(d.error == "a target refused or did not answer" for d in failed)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT status, attempts, last_error FROM alert_delivery")).all()
        assert {tuple(r) for r in rows} == {("failed", 1, "a target refused or did not answer")}
        hook.status = 200
        retried = run_alerts(sessions, alerts, environ={"HUBWATCH_TEST_HOOK": hook.url})
        url = hook.url
    assert sorted(d.row_key for d in retried) == sorted(d.row_key for d in failed)
    assert all(d.error is None for d in retried) and len(hook.messages) == len(failed)
    with engine.connect() as conn:
        assert {tuple(r) for r in conn.execute(text(
            "SELECT status, attempts, last_error FROM alert_delivery"))} == {("sent", 2, None)}
        stored = conn.execute(text("SELECT string_agg(payload::text || coalesce(last_error, ''), '') "
                                   "FROM alert_delivery")).scalar()
    assert url not in caplog.text and "127.0.0.1" not in stored


def test_unset_target_variable_is_a_recorded_failure(seeded, tmp_path):
    sessions, engine = seeded
    alerts = load_alerts(_write(tmp_path, SQL_ALERT))
    result = run_alerts(sessions, alerts, environ={})
    assert result and {d.error for d in result} == {"target variable(s) not set: HUBWATCH_TEST_HOOK"}


@pytest.mark.parametrize("body,where", [
    ("alerts:\n  - name: Bad Name\n    watch: {sql: SELECT 1 AS key}\n    targets: [X]\n",
     ":2: alerts.0.name: String should match pattern '^[a-z][a-z0-9-]{0,62}$'"),
    ("alerts:\n  - name: a\n    watch: {sql: SELECT 1 AS key}\n    targets: ['json://h/x']\n",
     ":2: alerts.0: Value error, target 'json://h/x' must name an environment variable "
     "(A-Z, 0-9, _) holding the apprise URL, not the URL itself"),
    ("alerts:\n  - name: a\n    watch:\n      filter: {events: [new_page]}\n    targets: [X]\n",
     ":4: alerts.0.watch.filter.events.0: Input should be 'new_document', 'new_mention' "
     "or 'mention_removed'"),
    ("alerts:\n  - name: a\n    watch: {sql: DELETE FROM mention}\n    targets: [X]\n",
     ":3: alerts.0.watch: Value error, sql must be one SELECT (or WITH ... SELECT) statement"),
])
def test_alerts_file_errors_name_file_line_key(tmp_path, body, where):
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_alerts(path)
    assert str(caught.value) == f"{path}{where}"


def test_shipped_alerts_file_is_valid():
    alerts = load_alerts(get_settings().alerts_file)
    assert alerts and not any(a.active for a in alerts)  # examples, off until configured
