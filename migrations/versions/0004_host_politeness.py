"""Cross-process politeness: when each host may next be asked (``hubwatch.crawl.politeness``).

One row per host (``host`` or ``host:port``); a fetch claims the host by moving
``next_at`` forward with one atomic statement, so any number of flow runs, in any
number of processes or machines sharing this database, space their requests to a host
by at least its delay.

UNLOGGED: the rows are a few timestamps that matter only while runs are going; after a
server crash PostgreSQL empties the table, which merely lets the next request go at once.
It skips the write-ahead log, so claiming a host costs no WAL flush.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_politeness",
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_host_politeness")),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("host_politeness")
