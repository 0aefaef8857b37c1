"""Engine and sessions: ``DATABASE_URL`` when set, else the embedded PostgreSQL."""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine
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


def database_url(*, start_embedded: bool = True) -> str:
    """The URL every command uses.

    With ``DATABASE_URL`` set, that URL (driver normalised). Otherwise the embedded server
    on ``HUBWATCH_DATA_DIR``: a live one is reused and left running; if none runs and
    ``start_embedded``, one is started as this process's child and stops with it.

    Raises:
        models.embedded.EmbeddedError: the embedded server could not be started.
    """
    global _embedded
    settings = get_settings()
    if settings.database_url is not None:
        return normalise_url(settings.database_url.get_secret_value())
    with _lock:
        if _embedded is None:
            _embedded = EmbeddedPostgres(settings.data_dir)
        info = _embedded.running()
        if info is None:
            if not start_embedded:
                raise RuntimeError("no embedded server is running")
            log.info("starting embedded PostgreSQL in %s", settings.data_dir)
            info = _embedded.start(detached=False)
        return info.url()


def get_engine(url: str | None = None) -> Engine:
    """One pooled engine per URL for this process."""
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
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
