"""Engine and sessions: ``DATABASE_URL`` when set, else the embedded PostgreSQL."""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hubwatch.config.settings import get_settings
from hubwatch.models.embedded import EmbeddedPostgres

log = logging.getLogger(__name__)
_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_embedded: EmbeddedPostgres | None = None

#: The Alembic scripts: the ``hubwatch.migrations`` package (found, not imported: its
#: env.py runs only under Alembic).
MIGRATIONS_DIR = Path(importlib.util.find_spec("hubwatch.migrations").origin).parent


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` / ``postgres://`` URLs."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


_announced = False  # whether this process has logged which embedded server it uses


def _embedded_server() -> EmbeddedPostgres:
    global _embedded
    if _embedded is None:
        _embedded = EmbeddedPostgres(get_settings().data_dir)
    return _embedded


def database_url(*, start_embedded: bool = True) -> str:
    """The URL every command uses (the application's role; holds a password: never print it).

    With ``DATABASE_URL`` set, that URL (driver normalised). Otherwise the embedded server
    on ``HUBWATCH_DATA_DIR`` as the ``hubwatch`` role: a live one is shared, else one is
    started; either way this process holds a lease on it until it ends (see
    models/embedded.py), so it stays up while any hubwatch process uses it.

    Raises:
        models.embedded.EmbeddedError: the embedded server could not be started.
        RuntimeError: ``start_embedded`` is False and none runs.
    """
    global _announced
    settings = get_settings()
    if settings.database_url is not None:
        return normalise_url(settings.database_url.get_secret_value())
    with _lock:
        server = _embedded_server()
        if not start_embedded and server.running() is None:
            raise RuntimeError("no embedded server is running")
        url = server.acquire().url()
        if not _announced:  # once per process: every engine and batch asks
            log.info("embedded PostgreSQL in %s", settings.data_dir)
            _announced = True
        return url


class AnalystConfigError(RuntimeError):
    """No analyst connection is configured, or the one given is not an analyst's."""


def analyst_url() -> str:
    """URL of an analyst login (a member of ``hubwatch_analyst``): never a writer's.

    ``HUBWATCH_ANALYST_DATABASE_URL`` when set; else, on the embedded server, hubwatch's own
    analyst login ``hubwatch_reader`` (secret in ``DATA_DIR/secrets/analyst``). With
    ``DATABASE_URL`` but no analyst URL there is no safe default: the application's role
    may write, and ``SET ROLE`` could be undone by the query itself.

    Raises:
        AnalystConfigError: ``DATABASE_URL`` is set and ``HUBWATCH_ANALYST_DATABASE_URL`` not.
        models.embedded.EmbeddedError: the embedded server could not be started.
    """
    from hubwatch.models.embedded import ANALYST_USER

    settings = get_settings()
    if settings.analyst_database_url is not None:
        return normalise_url(settings.analyst_database_url.get_secret_value())
    if settings.database_url is not None:
        raise AnalystConfigError(
            "DATABASE_URL is set but HUBWATCH_ANALYST_DATABASE_URL is not: name a login role "
            "in hubwatch_analyst (docs/analyst.md, 'Roles'); analyst commands never run as "
            "the application's role")
    with _lock:
        return _embedded_server().acquire().url(user=ANALYST_USER)


@contextmanager
def analyst_transaction(url: str | None = None) -> Iterator[Session]:
    """A READ ONLY transaction as an analyst login, under the statement timeout.

    ``SET TRANSACTION READ ONLY`` and ``SET LOCAL statement_timeout`` (the
    ``HUBWATCH_ANALYST_STATEMENT_TIMEOUT`` setting, seconds) come first; a role that is a
    superuser, or not a member of ``hubwatch_analyst``, is refused before any query runs.
    Always rolled back (nothing to keep).

    Raises:
        AnalystConfigError: the URL's role is a superuser or no analyst.
    """
    from hubwatch.models.embedded import ANALYST_GROUP

    settings = get_settings()
    engine = get_engine(url or analyst_url(), analyst=True)
    with Session(engine) as session:
        session.execute(text("SET TRANSACTION READ ONLY"))
        ms = int(settings.database.analyst_statement_timeout * 1000)
        session.execute(text(f"SET LOCAL statement_timeout = {ms}"))
        name, is_super, member, creates = session.execute(text(
            "SELECT current_user, r.rolsuper, pg_has_role(current_user, :g, 'MEMBER'), "
            "has_schema_privilege(current_user, 'public', 'CREATE') "
            "FROM pg_roles r WHERE r.rolname = current_user"), {"g": ANALYST_GROUP}).one()
        reason = ("it is a superuser" if is_super
                  else f"it is not a member of {ANALYST_GROUP}" if not member
                  else "it may create objects in schema public (a writer's role)" if creates
                  else None)
        if reason:
            raise AnalystConfigError(f"role {name} may not run analyst commands: {reason}")
        try:
            yield session
        finally:
            session.rollback()


def get_engine(url: str | None = None, *, analyst: bool = False) -> Engine:
    """One pooled engine per URL for this process (``analyst``: a small pool, the role
    has a connection limit)."""
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if analyst:
                engine = create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=1)
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
            _engines[url] = engine
        return engine


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any exception."""
    with session_factory(url).begin() as session:
        yield session


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply Alembic migrations up to ``revision`` on ``url`` (default: this process's DB)."""
    from alembic import command

    command.upgrade(alembic_config(url or database_url()), revision)


def alembic_config(url: str):
    """An Alembic Config for the migrations folder, bound to ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
