"""Analysts read, and only read (issue 16, point 2): `export` and `report` run as an
analyst login in a read-only transaction under a statement timeout; server files, large
objects and temporary tables are refused; an analyst holding hubwatch's advisory lock
makes a command fail within the bounded wait, naming the session.

Runs on the embedded server and on an operator's server (CI's PostgreSQL 15 through
DATABASE_URL): there the analyst login is made with the statements docs/analyst.md gives
(tests/conftest.py ``PgAdmin.analyst_url``)."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from hubwatch.cli.main import app
from hubwatch.contract import MIGRATION_LOCK_KEY as MIGRATION_LOCK

pytestmark = pytest.mark.db


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _export(tmp_path, query: str, **env):
    from hubwatch.config.settings import get_settings

    out = tmp_path / "out.csv"
    get_settings.cache_clear()  # settings are read once per process: read env anew
    result = CliRunner().invoke(app, ["export", query, "--out", str(out)], env=env or None)
    return result, out


@pytest.mark.parametrize("query", [
    "SELECT pg_read_file('/etc/hostname')",
    "SELECT lo_export(lo_from_bytea(0, 'x'::bytea), '/tmp/hubwatch-lo-export')",
    "SELECT lo_from_bytea(0, 'x'::bytea)",
    "SELECT pg_ls_dir('.')",
    "SELECT pg_reload_conf()",
])
def test_export_refuses_server_side_powers(db_env, tmp_path, query):
    result, out = _export(tmp_path, query)
    assert result.exit_code == 2, result.output
    assert "refused" in result.output and "permission denied" in result.output
    assert not out.exists()


def test_export_cannot_end_hubwatch_sessions(db_env, pg_url, tmp_path):
    with psycopg.connect(_libpq(pg_url)) as victim:
        pid = victim.execute("SELECT pg_backend_pid()").fetchone()[0]
        result, _ = _export(tmp_path, f"SELECT pg_terminate_backend({pid})")
        assert result.exit_code == 2, result.output
        assert "refused" in result.output  # PostgreSQL words it by version and role
        assert victim.execute("SELECT 1").fetchone() == (1,)


def test_export_of_a_write_is_refused(db_env, tmp_path):
    result, _ = _export(tmp_path, "WITH gone AS (DELETE FROM entity RETURNING 1) SELECT * FROM gone")
    assert result.exit_code == 2
    result, _ = _export(tmp_path, "SELECT nextval(pg_get_serial_sequence('entity', 'id'))")
    assert result.exit_code == 2
    assert "refused" in result.output


def test_pg_sleep_ends_at_the_statement_timeout(db_env, tmp_path):
    started = time.monotonic()
    result, out = _export(tmp_path, "SELECT pg_sleep(100)",
                          HUBWATCH_ANALYST_STATEMENT_TIMEOUT="1.5")
    elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    assert "statement timeout (1.5 s" in result.output
    assert elapsed < 30, elapsed  # 1.5 s of sleep plus connecting; far below 100 s
    assert not out.exists()


def test_default_statement_timeout_is_60_s(db_env):
    from sqlalchemy import text

    from hubwatch.config.settings import get_settings
    from hubwatch.models.db import analyst_transaction

    assert get_settings().database.analyst_statement_timeout == 60
    with analyst_transaction() as session:
        assert session.execute(text("SHOW statement_timeout")).scalar() == "1min"
        assert session.execute(text("SHOW transaction_read_only")).scalar() == "on"


def test_analyst_role_has_limits_and_no_temp(analyst_url):
    with psycopg.connect(_libpq(analyst_url), autocommit=True) as conn:
        limit, config, is_super = conn.execute(
            "SELECT rolconnlimit, rolconfig, rolsuper FROM pg_roles "
            "WHERE rolname = current_user").fetchone()
        assert not is_super
        assert 0 < limit <= 20
        assert any(c.startswith("statement_timeout=") for c in config or [])
        conn.execute("SET default_transaction_read_only = off")  # rights, not the default
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TEMP TABLE scratch (x int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT lo_create(0)")


def test_analyst_commands_never_use_the_application_role(db_env, pg_url, tmp_path, monkeypatch):
    # With DATABASE_URL and no analyst URL there is no default to fall back on...
    monkeypatch.delenv("HUBWATCH_ANALYST_DATABASE_URL")
    result, _ = _export(tmp_path, "entities")
    assert result.exit_code == 2
    assert "HUBWATCH_ANALYST_DATABASE_URL" in result.output
    # ...and a writer's URL given as the analyst's is refused before any query.
    result, _ = _export(tmp_path, "entities", HUBWATCH_ANALYST_DATABASE_URL=pg_url)
    assert result.exit_code == 2
    assert "may not run analyst commands" in result.output


def test_an_analyst_holding_the_lock_makes_commands_fail_in_bounded_time(db_env, analyst_url):
    with psycopg.connect(_libpq(analyst_url), autocommit=True,
                         application_name="analyst-notebook") as holder:
        holder_pid = holder.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,)).fetchone()
        from hubwatch.config.settings import get_settings

        get_settings.cache_clear()
        started = time.monotonic()
        result = CliRunner().invoke(app, ["status"], env={"HUBWATCH_LOCK_WAIT_SECONDS": "2"})
        elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    assert 2 <= elapsed < 20, elapsed
    text = " ".join(result.output.split())
    assert f"pid {holder_pid}" in text
    assert "analyst-notebook" in text
    assert make_url(analyst_url).username in text
    # Once the session is gone the command runs.
    get_settings.cache_clear()
    assert CliRunner().invoke(app, ["status"]).exit_code == 0


def test_run_liveness_lock_is_bounded_too(db_env, analyst_url, monkeypatch):
    from sqlalchemy import create_engine, text

    from hubwatch.config.settings import get_settings
    from hubwatch.models.locks import LockBusy
    from hubwatch.models.runs import open_run
    from hubwatch.models.store import RUN_LOCK_SPACE

    monkeypatch.setenv("HUBWATCH_LOCK_WAIT_SECONDS", "0.5")
    get_settings.cache_clear()
    engine = create_engine(db_env)
    with engine.connect() as conn:  # the id the next run will get
        next_id = conn.execute(text(
            "SELECT nextval(pg_get_serial_sequence('crawl_run', 'id'))")).scalar() + 1
        conn.commit()
    with psycopg.connect(_libpq(analyst_url), autocommit=True,
                         application_name="squatter") as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", (RUN_LOCK_SPACE, next_id))
        started = time.monotonic()
        with pytest.raises(LockBusy, match=f"crawl run {next_id} .*squatter"):
            with open_run(engine, "ingest", {}):
                pass
        assert time.monotonic() - started < 10
    with engine.connect() as conn:  # nothing of the refused run was kept
        assert conn.execute(text("SELECT count(*) FROM crawl_run WHERE id = :i"),
                            {"i": next_id}).scalar() == 0
    engine.dispose()


def _hubwatch(*args, env_extra: dict):
    import os
    import subprocess
    import sys

    from support.prefect_server import REPO

    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-m", "hubwatch", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_sql_analyst_is_read_only_and_time_limited(db_env, analyst_url):
    env = {"DATABASE_URL": db_env, "HUBWATCH_ANALYST_DATABASE_URL": analyst_url}
    who = _hubwatch("sql", "--analyst", "-c", "SELECT current_user", env_extra=env)
    assert who.returncode == 0, who.stderr
    assert make_url(analyst_url).username in who.stdout
    write = _hubwatch("sql", "--analyst", "-c", "CREATE TABLE analyst_scratch (x int)",
                      env_extra=env)
    assert write.returncode != 0 and "read-only transaction" in write.stderr
    started = time.monotonic()
    slow = _hubwatch("sql", "--analyst", "-c", "SELECT pg_sleep(100)",
                     env_extra={**env, "HUBWATCH_ANALYST_STATEMENT_TIMEOUT": "1"})
    assert slow.returncode != 0 and "statement timeout" in slow.stderr
    assert time.monotonic() - started < 60
