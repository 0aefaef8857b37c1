"""deploy/postgres-init/10-hubwatch-roles.sh, the roles docker-compose's PostgreSQL gets on
its first start (docs/deploying.md "Database roles"), run against the test server by its
administrator: the application role it makes is no superuser, logs in with its password
(quotes in it included), owns its database and schema, and is enough to migrate to head;
the analyst group role exists for migration 0003's grants."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hubwatch.models.db import upgrade

pytestmark = pytest.mark.db
SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "postgres-init" / "10-hubwatch-roles.sh"


def _psql_folder() -> str | None:
    """A folder holding psql: the PATH's, else the embedded server's own binaries."""
    found = shutil.which("psql")
    if found:
        return str(Path(found).parent)
    try:
        from hubwatch.models.embedded import bin_dir
    except ImportError:
        return None
    folder = bin_dir()
    return str(folder) if (Path(folder) / "psql").exists() else None


def test_the_init_script_makes_a_least_rights_owner_that_can_migrate(pg_admin):
    folder = _psql_folder()
    if folder is None:
        pytest.skip("no psql to run the script with")
    admin = make_url(pg_admin.admin_url())
    suffix = uuid.uuid4().hex[:8]
    user, name, password = f"hw_init_{suffix}", f"hw_init_{suffix}", f"it's-{uuid.uuid4().hex}"
    env = {**os.environ, "PATH": f"{folder}:{os.environ.get('PATH', '')}",
           "PGHOST": admin.host or "127.0.0.1", "PGPORT": str(admin.port or 5432),
           "PGUSER": admin.username or "postgres", "PGPASSWORD": admin.password or "",
           "POSTGRES_DB": admin.database or "postgres",
           "HUBWATCH_DB_USER": user, "HUBWATCH_DB_NAME": name, "HUBWATCH_DB_PASSWORD": password}
    try:
        done = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        url = admin.set(username=user, password=password, database=name)
        upgrade(url.render_as_string(hide_password=False))
        engine = create_engine(url)
        with engine.connect() as conn:
            role = conn.execute(text("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
                                     "FROM pg_roles WHERE rolname = current_user")).one()
            owners = conn.execute(text(
                "SELECT pg_get_userbyid(d.datdba), pg_get_userbyid(n.nspowner) FROM pg_database d, "
                "pg_namespace n WHERE d.datname = current_database() AND n.nspname = 'public'")).one()
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            granted = conn.execute(text("SELECT has_table_privilege('hubwatch_analyst', 'current_documents', "
                                        "'SELECT')")).scalar_one()
        engine.dispose()
        assert tuple(role) == (False, False, False, False, False)
        assert tuple(owners) == (user, user)
        assert head.startswith("0012") and granted
        again = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode != 0 and "already exists" in again.stderr  # never half-redone
    finally:
        pg_admin.drop_database(name)
        pg_admin.drop_role(user)


def test_the_init_script_refuses_to_run_without_a_password():
    done = subprocess.run(["sh", str(SCRIPT)], env={"PATH": os.environ.get("PATH", "")},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "HUBWATCH_DB_PASSWORD" in done.stderr
