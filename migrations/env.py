"""Alembic environment: online migrations only, against PostgreSQL.

The URL comes from the Alembic config (set by ``hubwatch.models.db.alembic_config``) or, when run as
``alembic`` from the command line, from ``hubwatch.models.db.database_url()`` (DATABASE_URL or the
embedded server).
"""

from alembic import context
from sqlalchemy import create_engine, pool

from hubwatch.models.schema import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from hubwatch.models.db import database_url

    return database_url()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          compare_type=True, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("hubwatch migrations run online only (they inspect the database)")
run_migrations_online()
