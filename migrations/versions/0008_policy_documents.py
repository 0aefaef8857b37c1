"""Policy documents: the official-document record and attachments.

The record: table ``policy_record`` (one row per version whose page shows a metadata
block) and the analyst view ``policy_documents`` over current versions.

Attachments (PDF, DOCX, OFD, ... linked from a page) are documents of their own:
``document.attachment_of`` names the page that links them (their source is the page's),
``attachment_file`` keeps per version what the file was (type, link text, pages, bytes).
``current_documents`` gains ``attachment_of`` (appended, so ``CREATE OR REPLACE`` keeps
the views and grants built on it; ``documents_as_of``, which returns its row type, is
replaced to match); the view ``attachments`` lists the current attachment versions.
The outcome ``unsupported`` (a format no trusted reader opens) joins the CHECK.

Downgrade: ``current_documents`` and ``documents_as_of`` keep an ``attachment_of``
column that is always NULL (a view cannot lose a column without dropping everything built
on it); ``unsupported`` snapshots become ``parse_limit``.

Why a table of its own and not columns on ``document_version``: most pages (commentary,
news) have no block, and the block can change while the body does not, so the record
belongs to the version but is optional. ``document_number`` is indexed because the
analyst's first question is "where else was 国发〔2025〕12号 posted?".

Revision ID: 0008
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

ROLE = "hubwatch_analyst"

POLICY_DOCUMENTS = """
CREATE VIEW policy_documents AS
SELECT cd.document_id, cd.version_id, cd.url, cd.source, cd.title,
       p.issuing_bodies, p.document_number, p.source_organ, p.document_type, p.topic,
       p.written_on, p.published_on, p.index_number, p.validity
FROM current_documents cd
JOIN policy_record p ON p.version_id = cd.version_id
"""


OLD_OUTCOMES = ("ok", "not_modified", "gone", "http_error", "deferred", "host_skipped", "timeout",
                "too_large", "binary", "blocked_page", "redirect_loop", "blocked_redirect", "robots",
                "bad_feed", "parse_limit", "decode_error", "network_error", "no_text")
NEW_OUTCOMES = (*OLD_OUTCOMES, "unsupported")

# {attachment_of} is d.attachment_of after upgrade, NULL::bigint after downgrade.
CURRENT_DOCUMENTS = """
CREATE OR REPLACE VIEW current_documents AS
SELECT d.id AS document_id, d.canonical_url AS url, s.slug AS source, s.kind,
       COALESCE(v.language, s.language) AS language, v.title, v.published_at,
       v.published_precision, d.first_seen_at, d.last_fetched_at, v.version_no, d.gone_at,
       v.main_text AS text, v.id AS version_id, v.valid_from, v.content_hash, v.author,
       {attachment_of} AS attachment_of
FROM document d
JOIN source s ON s.id = d.source_id
JOIN document_version v ON v.document_id = d.id AND v.valid_to IS NULL
"""

DOCUMENTS_AS_OF = """
CREATE OR REPLACE FUNCTION documents_as_of(ts timestamptz) RETURNS SETOF current_documents
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
SELECT d.id, d.canonical_url, s.slug, s.kind, COALESCE(v.language, s.language), v.title,
       v.published_at, v.published_precision, d.first_seen_at,
       COALESCE((SELECT max(sn.fetched_at) FROM snapshot sn
                 WHERE sn.document_id = d.id AND sn.fetched_at <= ts), v.captured_at),
       v.version_no, CASE WHEN d.gone_at <= ts THEN d.gone_at END, v.main_text,
       v.id, v.valid_from, v.content_hash, v.author, {attachment_of}
FROM document d
JOIN source s ON s.id = d.source_id
JOIN document_version v ON v.document_id = d.id
WHERE v.valid_from <= ts AND (v.valid_to IS NULL OR ts < v.valid_to)
$fn$
"""

ATTACHMENTS = """
CREATE VIEW attachments AS
SELECT cd.document_id, cd.attachment_of AS parent_document_id, cd.url, f.file_type, f.link_text,
       f.page_count, f.bytes, cd.version_no, cd.text
FROM current_documents cd
JOIN attachment_file f ON f.version_id = cd.version_id
"""


def _check(outcomes: tuple[str, ...]) -> str:
    return "outcome IN (" + ", ".join(f"'{o}'" for o in outcomes) + ")"


def upgrade() -> None:
    op.create_table(
        "policy_record",
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("issuing_bodies", postgresql.ARRAY(sa.Text()), nullable=False,
                  server_default=sa.text("'{}'::text[]")),
        sa.Column("document_number", sa.Text(), nullable=True),
        sa.Column("source_organ", sa.Text(), nullable=True),
        sa.Column("document_type", sa.Text(), nullable=True),
        sa.Column("topic", postgresql.ARRAY(sa.Text()), nullable=False,
                  server_default=sa.text("'{}'::text[]")),
        sa.Column("written_on", sa.Date(), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("index_number", sa.Text(), nullable=True),
        sa.Column("validity", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["document_version.id"], ondelete="CASCADE",
                                name=op.f("fk_policy_record_version_id_document_version")),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_policy_record")),
    )
    op.create_index(op.f("ix_policy_record_document_number"), "policy_record", ["document_number"])
    op.execute(POLICY_DOCUMENTS)
    op.execute(f"GRANT SELECT ON policy_documents TO {ROLE}")

    op.drop_constraint(op.f("ck_snapshot_outcome"), "snapshot", type_="check")
    op.create_check_constraint(op.f("ck_snapshot_outcome"), "snapshot", _check(NEW_OUTCOMES))
    op.add_column("document", sa.Column("attachment_of", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_document_attachment_of_document"), "document", "document",
                          ["attachment_of"], ["id"], ondelete="SET NULL")
    op.create_index(op.f("ix_document_attachment_of"), "document", ["attachment_of"])
    op.create_table(
        "attachment_file",
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("file_type", sa.Text(), nullable=False),
        sa.Column("link_text", sa.Text(), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["document_version.id"], ondelete="CASCADE",
                                name=op.f("fk_attachment_file_version_id_document_version")),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_attachment_file")),
    )
    op.execute(CURRENT_DOCUMENTS.format(attachment_of="d.attachment_of"))
    op.execute(DOCUMENTS_AS_OF.format(attachment_of="d.attachment_of"))
    op.execute(ATTACHMENTS)
    op.execute(f"GRANT SELECT ON attachments TO {ROLE}")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS attachments")
    op.execute(CURRENT_DOCUMENTS.format(attachment_of="NULL::bigint"))
    op.execute(DOCUMENTS_AS_OF.format(attachment_of="NULL::bigint"))
    op.drop_table("attachment_file")
    op.drop_index(op.f("ix_document_attachment_of"), table_name="document")
    op.drop_constraint(op.f("fk_document_attachment_of_document"), "document", type_="foreignkey")
    op.drop_column("document", "attachment_of")
    op.execute("UPDATE snapshot SET outcome = 'parse_limit' WHERE outcome = 'unsupported'")
    op.drop_constraint(op.f("ck_snapshot_outcome"), "snapshot", type_="check")
    op.create_check_constraint(op.f("ck_snapshot_outcome"), "snapshot", _check(OLD_OUTCOMES))

    op.execute("DROP VIEW IF EXISTS policy_documents")
    op.drop_index(op.f("ix_policy_record_document_number"), table_name="policy_record")
    op.drop_table("policy_record")
