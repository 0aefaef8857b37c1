"""Two new words: snapshot outcome ``internal_error`` and run status ``cancelled``.

``internal_error``: an unexpected exception in hubwatch's own code while fetching,
decoding, extracting, matching or storing one URL. It used to leave no snapshot at all
(a logged ``store_error``); now the URL keeps its one snapshot, with the exception's type
and message, and counts as a failure in ``source_health`` (which counts every outcome
other than ok/not_modified/gone). ``cancelled``: a run stopped by SIGTERM/SIGINT that
recorded what it had finished.

The outcome CHECK is rebuilt from the values it holds now plus the new one, rather than
from a list frozen here, so that this revision composes with any other revision that
adds a word to the same vocabulary, in either order.

Downgrade maps the new values onto old ones, keeping the fact in the message:
``internal_error`` rows become ``network_error`` ("internal_error: ..."), ``cancelled``
runs become ``failed``.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import re

from alembic import op
from sqlalchemy import text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OUTCOME_CHECK = "ck_snapshot_outcome"
STATUS_CHECK = "ck_crawl_run_run_status"


def _values(constraint: str) -> list[str]:
    """The quoted values of an ``IN (...)`` / ``= ANY (ARRAY[...])`` check, in order."""
    definition = op.get_bind().execute(text(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :c"),
        {"c": constraint}).scalar_one()
    return list(dict.fromkeys(re.findall(r"'([^']*)'", definition)))


def _replace(table: str, constraint: str, column: str, values: list[str]) -> None:
    listed = ", ".join(f"'{v}'" for v in values)
    op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} CHECK ({column} IN ({listed}))")


def upgrade() -> None:
    outcomes = _values(OUTCOME_CHECK)
    if "internal_error" not in outcomes:
        _replace("snapshot", OUTCOME_CHECK, "outcome", [*outcomes, "internal_error"])
    statuses = _values(STATUS_CHECK)
    if "cancelled" not in statuses:
        _replace("crawl_run", STATUS_CHECK, "run_status", [*statuses, "cancelled"])


def downgrade() -> None:
    op.execute("UPDATE snapshot SET outcome = 'network_error', error_message = 'internal_error: '"
               " || coalesce(error_message, '') WHERE outcome = 'internal_error'")
    _replace("snapshot", OUTCOME_CHECK, "outcome",
             [v for v in _values(OUTCOME_CHECK) if v != "internal_error"])
    op.execute("UPDATE crawl_run SET run_status = 'failed' WHERE run_status = 'cancelled'")
    _replace("crawl_run", STATUS_CHECK, "run_status",
             [v for v in _values(STATUS_CHECK) if v != "cancelled"])
