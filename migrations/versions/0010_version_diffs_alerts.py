"""Redlines and alerts: the table ``version_diff`` with the analyst view ``version_diffs``
(the sentences each edit added and removed), and ``alert_delivery`` (which rows of which
alert reached their targets).

Why ``alert_delivery`` is a plain table in PostgreSQL: delivery must survive a crash of
the run, and several runs may deliver at once; the unique (alert, row key) makes the
recording idempotent, and ``delivery_id`` (derived from both) lets receivers drop the
copy a crash between sending and recording may cause. It is not granted to the analyst
role: its payloads are rows of the views, but its errors belong to operators.

Why a table filled from Python, not a SQL view: a site may paste a sentence into the
middle of another one (the WARC days of the shared corpus do), so a sentence-level
set difference would report the whole merged sentence as changed. The word-level diff
(``hubwatch.text.redline``: CJK one character a word) finds the inserted run itself.
The rows are computed at the end of every writing run, before the materialised views
are refreshed (``hubwatch.pipeline.diffs.update_version_diffs``), so the view is as
current as the other analytics.

Why the view checks the hashes: a row computed from texts that have since changed (a
re-extraction) is hidden rather than shown wrong until the next run recomputes it.

Revision ID: 0010
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None

ROLE = "hubwatch_analyst"

VERSION_DIFFS = """
CREATE VIEW version_diffs AS
SELECT cur.document_id, d.canonical_url AS url, vd.version_id, vd.previous_version_id,
       cur.valid_from AS changed_at, prev.title AS previous_title, cur.title,
       vd.sentences_added, vd.sentences_removed
FROM version_diff vd
JOIN document_version cur ON cur.id = vd.version_id
JOIN document_version prev ON prev.id = vd.previous_version_id
JOIN document d ON d.id = cur.document_id
WHERE vd.version_hash = cur.content_hash AND vd.previous_hash = prev.content_hash
"""


def upgrade() -> None:
    op.create_table(
        "version_diff",
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("previous_version_id", sa.BigInteger(), nullable=False),
        sa.Column("version_hash", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.Text(), nullable=False),
        sa.Column("sentences_added", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("sentences_removed", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["document_version.id"], ondelete="CASCADE",
                                name="fk_version_diff_version_id_document_version"),
        sa.ForeignKeyConstraint(["previous_version_id"], ["document_version.id"],
                                ondelete="CASCADE",
                                name="fk_version_diff_previous_version_id_document_version"),
        sa.PrimaryKeyConstraint("version_id", name="pk_version_diff"),
    )
    op.create_index("ix_version_diff_previous_version_id", "version_diff",
                    ["previous_version_id"])
    op.execute(VERSION_DIFFS)
    op.execute(f"GRANT SELECT ON version_diffs TO {ROLE}")
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("alert_name", sa.Text(), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("delivery_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')",
                           name="ck_alert_delivery_status"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_delivery"),
        sa.UniqueConstraint("alert_name", "row_key", name="uq_alert_delivery_alert_name_row_key"),
        sa.UniqueConstraint("delivery_id", name="uq_alert_delivery_delivery_id"),
    )
    op.create_index("ix_alert_delivery_unsent", "alert_delivery", ["alert_name"],
                    postgresql_where=sa.text("status <> 'sent'"))


def downgrade() -> None:
    op.drop_index("ix_alert_delivery_unsent", table_name="alert_delivery")
    op.drop_table("alert_delivery")
    op.execute("DROP VIEW IF EXISTS version_diffs")
    op.drop_index("ix_version_diff_previous_version_id", table_name="version_diff")
    op.drop_table("version_diff")
