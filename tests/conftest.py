"""Shared fixtures: the shared corpus, a real PostgreSQL built by migrations, Prefect.

Database: with ``DATABASE_URL`` set, a fresh database is created on that server for the
test session (UTF-8, C.UTF-8 locale); otherwise an embedded PostgreSQL is started in a
temporary folder. Either way the schema comes from ``alembic upgrade head``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Prefect reads these at import: keep its home private and its telemetry off.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="hubwatch-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _settings_read_afresh():
    """Settings are read once per process; a test that sets a variable gets it read."""
    from hubwatch.config.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` as named by HUBWATCH_SHARED; tests using it skip when it is unset."""
    value = os.environ.get("HUBWATCH_SHARED")
    if not value:
        pytest.skip("HUBWATCH_SHARED is not set")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"HUBWATCH_SHARED={value} is not a folder")
    return path


def _server_url(tmp_root: Path) -> tuple[str, object | None]:
    from hubwatch.models.db import normalise_url

    if os.environ.get("DATABASE_URL"):
        return normalise_url(os.environ["DATABASE_URL"]), None
    from hubwatch.models.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_root / "embedded")
    info = server.start(detached=False)
    return info.url("postgres"), server


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory) -> Iterator[str]:
    """URL of a migrated, empty test database, dropped after the session."""
    from hubwatch.models.db import upgrade

    server_url, server = _server_url(tmp_path_factory.mktemp("pg"))
    name = f"hubwatch_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                          "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    from hubwatch.models import db as dbmod

    for engine in list(dbmod._engines.values()):
        engine.dispose()
    dbmod._engines.clear()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    if server is not None:
        server.stop_child()


@pytest.fixture
def db_env(pg_url, monkeypatch) -> Iterator[str]:
    """Point every hubwatch function (settings, engine) at the test database."""
    from hubwatch.config.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", pg_url)
    get_settings.cache_clear()
    yield pg_url
    get_settings.cache_clear()


ALL_TABLES = ("mention", "version_match", "snapshot", "document_version", "document_url", "document",
              "crawl_run", "alias", "entity", "source")


@pytest.fixture
def clean_db(db_env) -> Iterator[str]:
    """For tests that commit: every table emptied after the test."""
    yield db_env
    engine = create_engine(db_env)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(ALL_TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def db_session(pg_url) -> Iterator[Session]:
    """A session in a transaction that is rolled back after the test."""
    engine = create_engine(pg_url)
    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint")
    yield session
    session.close()
    outer.rollback()
    conn.close()
    engine.dispose()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API for flow tests (started once per session)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def pytest_collection_modifyitems(config, items):
    """Mark every test that touches PostgreSQL ``db`` (CI runs those a second time on
    the machine's PostgreSQL 15 through DATABASE_URL)."""
    for item in items:
        if {"pg_url", "db_env", "clean_db", "db_session"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
