"""hubwatch_analyst reads every view and nothing else (SET ROLE inside a rolled-back
transaction; the login role of docs/analyst.md is created there too and vanishes)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session
from support.analyst_seed import seed

from hubwatch.models.analytics import ANALYST_ROLE, ANALYST_VIEWS

pytestmark = pytest.mark.db

BASE_TABLES = ("source", "crawl_run", "document", "document_url", "document_version",
               "snapshot", "entity", "alias", "mention",
               # the summaries behind the maintained views (migration 0012)
               "analytics_queue", "analytics_document", "analytics_document_entity",
               "analytics_mention_daily", "analytics_hub_daily", "analytics_co_mention",
               "analytics_mention_change", "analytics_calc_document",
               "analytics_calc_document_entity", "analytics_calc_mention_change")


def _denied(session, sql: str) -> bool:
    """True when ``sql`` fails for lack of privilege (the savepoint keeps the test going)."""
    try:
        with session.begin_nested():
            session.execute(text(sql))
    except ProgrammingError as exc:
        # PostgreSQL 17+ says "permission denied" for REFRESH too; 15-16 "must be owner"
        return "permission denied" in str(exc.orig) or "must be owner" in str(exc.orig)
    return False


@pytest.fixture
def as_analyst(db_session):
    seed(db_session)
    db_session.execute(text(f"SET LOCAL ROLE {ANALYST_ROLE}"))
    yield db_session
    db_session.execute(text("RESET ROLE"))


def test_role_is_a_group_without_login(db_session):
    row = db_session.execute(text("SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb "
                                  "FROM pg_roles WHERE rolname = :r"), {"r": ANALYST_ROLE}).one()
    assert tuple(row) == (False, False, False, False)


@pytest.mark.parametrize("view", ANALYST_VIEWS)
def test_analyst_reads_every_view(as_analyst, view):
    count = as_analyst.execute(text(f"SELECT count(*) FROM {view}")).scalar_one()
    assert count >= 0
    if view in ("current_documents", "entities", "document_history", "source_health"):
        assert count > 0  # plain views over the seeded rows, no refresh needed


def test_analyst_runs_documents_as_of(as_analyst):
    rows = as_analyst.execute(text(
        "SELECT document_id, version_no FROM documents_as_of('2026-11-01T12:00:00Z') "
        "ORDER BY document_id")).all()
    assert [tuple(r) for r in rows] == [(1, 1), (3, 1), (4, 1)]


@pytest.mark.parametrize("table", BASE_TABLES)
def test_analyst_cannot_read_base_tables(as_analyst, table):
    assert _denied(as_analyst, f"SELECT * FROM {table} LIMIT 1")


@pytest.mark.parametrize("sql", [
    "INSERT INTO source (slug, name, kind) VALUES ('x', 'x', 'other')",
    "UPDATE document SET gone_at = now()",
    "DELETE FROM mention",
    "TRUNCATE snapshot",
    "CREATE TABLE analyst_scratch (x int)",
])
def test_analyst_cannot_write_tables(as_analyst, sql):
    assert _denied(as_analyst, sql)


@pytest.mark.parametrize("view", ANALYST_VIEWS)
def test_analyst_has_no_write_privilege_on_views(db_session, view):
    rights = db_session.execute(text(
        "SELECT has_table_privilege(:r, :v, 'SELECT'), "
        "has_table_privilege(:r, :v, 'INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES')"),
        {"r": ANALYST_ROLE, "v": view}).one()
    assert tuple(rights) == (True, False)


@pytest.mark.parametrize("sql", [
    "SELECT analytics_refresh_documents('{1}')",
    "SELECT analytics_refresh_days('{2026-11-01}')",
    "SELECT analytics_rebuild()",
    "SELECT * FROM analytics_calc_mention_daily(NULL)",
    "INSERT INTO analytics_queue (document_id) VALUES (1)",
    "DELETE FROM analytics_co_mention",
])
def test_analyst_cannot_run_or_feed_the_upkeep(as_analyst, sql):
    assert _denied(as_analyst, sql)


def test_no_default_privileges_open_future_tables(db_session):
    rows = db_session.execute(text(
        "SELECT count(*) FROM pg_default_acl WHERE array_to_string(defaclacl, ',') LIKE :r"),
        {"r": f"%{ANALYST_ROLE}=%"}).scalar_one()
    assert rows == 0
    db_session.execute(text("CREATE TABLE later_table (x int)"))
    db_session.execute(text(f"SET LOCAL ROLE {ANALYST_ROLE}"))
    assert _denied(db_session, "SELECT * FROM later_table")
    db_session.execute(text("RESET ROLE"))


def test_login_role_from_the_guide(pg_admin, pg_name):
    """`CREATE ROLE alice LOGIN IN ROLE hubwatch_analyst` gives exactly the analyst's rights
    (run by the server's administrator: the application role creates no roles)."""
    engine = create_engine(pg_admin.admin_url(pg_name))
    person = f"hw_test_{uuid.uuid4().hex[:8]}"  # rolled back with the transaction
    with engine.connect() as conn, Session(bind=conn) as session:
        seed(session)
        session.execute(text(f"CREATE ROLE {person} LOGIN IN ROLE {ANALYST_ROLE}"))
        session.execute(text(f"SET LOCAL ROLE {person}"))
        assert session.execute(text("SELECT count(*) FROM current_documents")).scalar_one() == 6
        assert _denied(session, "SELECT * FROM document_version")
        session.rollback()
    engine.dispose()
