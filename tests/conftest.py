"""Shared fixtures: the shared corpus, a real PostgreSQL built by migrations, Prefect.

Database: with ``DATABASE_URL`` set, a fresh database is created on that server for the
test session (UTF-8, C.UTF-8 locale); otherwise an embedded PostgreSQL is started in a
temporary folder and the database is owned by its application role (no superuser).
Either way the schema comes from ``alembic upgrade head``; ``analyst_url`` is an analyst
login on it.
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
# Flow commands in tests (in-process or children) never leave a managed Prefect server
# running: without a URL they use Prefect's temporary server. Tests of the managed server
# ask for it (tests/e2e/test_managed_server.py).
os.environ.setdefault("HUBWATCH_PREFECT_SERVER", "temporary")

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


class PgAdmin:
    """The test server's administrator: creates and drops databases and roles.

    With ``DATABASE_URL`` that URL's role (a superuser in CI); on the embedded server the
    bootstrap superuser. Databases are owned by the role tests connect as (the embedded
    server's application role ``hubwatch``, which is no superuser) and closed like
    hubwatch's own (models/embedded.py ``lockdown_statements``).
    """

    def __init__(self, tmp_root: Path) -> None:
        from hubwatch.models.db import normalise_url

        self.server = self.info = None
        if os.environ.get("DATABASE_URL"):
            self.base = make_url(normalise_url(os.environ["DATABASE_URL"]))
        else:
            from hubwatch.models.embedded import EmbeddedPostgres

            self.server = EmbeddedPostgres(tmp_root / "embedded")
            self.info = self.server.acquire()
            self.base = None

    @property
    def embedded(self) -> bool:
        return self.info is not None

    def admin_url(self, database: str = "postgres") -> str:
        if self.embedded:
            from hubwatch.models.embedded import SUPERUSER

            return self.info.url(database, user=SUPERUSER)
        return self.base.set(database=database).render_as_string(hide_password=False)

    def app_url(self, database: str) -> str:
        if self.embedded:
            return self.info.url(database)
        return self.base.set(database=database).render_as_string(hide_password=False)

    def create_database(self, name: str) -> str:
        """Create ``name``; returns the URL tests use for it (the application's role)."""
        if self.embedded:
            from hubwatch.models.embedded import create_database

            create_database(self.info, name)
        else:
            self._autocommit(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                             "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
        return self.app_url(name)

    def drop_database(self, name: str) -> None:
        self._autocommit(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _autocommit(self, *statements: str, database: str = "postgres") -> None:
        engine = create_engine(self.admin_url(database), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
        engine.dispose()

    def analyst_url(self, database: str) -> tuple[str, str | None]:
        """An analyst login for ``database``: (URL, role to drop afterwards or None).

        Embedded: hubwatch's own ``hubwatch_reader``. Elsewhere a new login role in
        ``hubwatch_analyst`` with the limits docs/analyst.md gives operators (connection
        limit, statement timeout on the role), and ``database`` closed to PUBLIC.
        """
        from hubwatch.models.embedded import ANALYST_USER, lockdown_statements

        if self.embedded:
            return self.info.url(database, user=ANALYST_USER), None
        login = f"hw_test_reader_{uuid.uuid4().hex[:8]}"
        cluster, inside = lockdown_statements(database, login=login, statement_timeout_s=60,
                                              connection_limit=5)
        self._autocommit(f'CREATE ROLE "{login}" LOGIN IN ROLE hubwatch_analyst', *cluster)
        self._autocommit(*inside, database=database)
        url = self.base.set(username=login, password=None, database=database)
        return url.render_as_string(hide_password=False), login

    def drop_role(self, role: str) -> None:
        self._autocommit(f'DROP ROLE IF EXISTS "{role}"')

    def close(self) -> None:
        if self.server is not None:
            self.server.stop_child()


@pytest.fixture(scope="session")
def pg_admin(tmp_path_factory) -> Iterator[PgAdmin]:
    """The test server (embedded, or DATABASE_URL's) and its administrator."""
    admin = PgAdmin(tmp_path_factory.mktemp("pg"))
    yield admin
    admin.close()


@pytest.fixture(scope="session")
def pg_name(pg_admin) -> Iterator[str]:
    """Name of the session's test database (migrated, empty; dropped after the session)."""
    from hubwatch.models.db import upgrade

    name = f"hubwatch_test_{uuid.uuid4().hex[:10]}"
    url = pg_admin.create_database(name)
    upgrade(url)
    yield name
    from hubwatch.models import db as dbmod

    for engine in list(dbmod._engines.values()):
        engine.dispose()
    dbmod._engines.clear()
    pg_admin.drop_database(name)


@pytest.fixture(scope="session")
def pg_url(pg_admin, pg_name) -> str:
    """URL of the migrated test database, as the role hubwatch's commands use (embedded:
    the application role ``hubwatch``, no superuser)."""
    return pg_admin.app_url(pg_name)


@pytest.fixture(scope="session")
def analyst_url(pg_admin, pg_name) -> Iterator[str]:
    """URL of an analyst login on the test database (see PgAdmin.analyst_url)."""
    url, role = pg_admin.analyst_url(pg_name)
    yield url
    if role is not None:
        from hubwatch.models import db as dbmod

        for key in [k for k in dbmod._engines if role in k]:
            dbmod._engines.pop(key).dispose()
        pg_admin._autocommit(f'REVOKE CONNECT ON DATABASE "{pg_name}" FROM hubwatch_analyst')
        pg_admin.drop_role(role)


@pytest.fixture
def db_env(pg_url, analyst_url, monkeypatch) -> Iterator[str]:
    """Point every hubwatch function (settings, engine) at the test database (analyst
    commands at the analyst login)."""
    from hubwatch.config.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("HUBWATCH_ANALYST_DATABASE_URL", analyst_url)
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
def local_crawl(clean_db, monkeypatch, tmp_path):
    """Settings for fast crawls of a local test site, as a function: ``local_crawl(**env)``
    sets them (``HUBWATCH_*`` overrides in ``env``) and returns ``(tmp_path, engine)``; the
    test writes its sources file at ``tmp_path / "sources.yaml"``."""
    from hubwatch.config.settings import get_settings

    engines = []

    def setup(**env: str):
        values = {"HUBWATCH_SOURCES_FILE": str(tmp_path / "sources.yaml"),
                  "HUBWATCH_HOST_DELAY_SECONDS": "0", "HUBWATCH_RETRIES": "1",
                  "HUBWATCH_BACKOFF_BASE": "0.05", **env}
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        engines.append(create_engine(clean_db))
        return tmp_path, engines[-1]

    yield setup
    for engine in engines:
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
        if {"pg_url", "db_env", "clean_db", "db_session", "pg_admin", "analyst_url"} & set(
                getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
