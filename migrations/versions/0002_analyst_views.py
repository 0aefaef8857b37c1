"""Extensions and the first analyst views: current_documents, current_mentions.

Views are plain SQL kept here (not in the ORM metadata), so `alembic check` compares only
tables. Each later change to a view replaces it in a new revision.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CURRENT_DOCUMENTS = """
CREATE VIEW current_documents AS
SELECT d.id AS document_id,
       d.canonical_url AS url,
       s.slug AS source,
       s.kind,
       COALESCE(v.language, s.language) AS language,
       v.title,
       v.published_at,
       v.published_precision,
       d.first_seen_at,
       d.last_fetched_at,
       v.version_no,
       d.gone_at,
       v.main_text AS text,
       v.id AS version_id,
       v.valid_from,
       v.content_hash,
       v.author
FROM document d
JOIN source s ON s.id = d.source_id
JOIN document_version v ON v.document_id = d.id AND v.valid_to IS NULL
"""

CURRENT_MENTIONS = """
CREATE VIEW current_mentions AS
SELECT cd.document_id,
       cd.version_id,
       cd.url,
       cd.source,
       cd.kind,
       cd.language,
       cd.published_at,
       e.key AS entity,
       e.name AS entity_name,
       COALESCE(p.key, e.key) AS hub,
       m.surface,
       m.zone,
       m.start_offset,
       m.end_offset,
       m.sentence
FROM current_documents cd
JOIN mention m ON m.version_id = cd.version_id
JOIN entity e ON e.id = m.entity_id
LEFT JOIN entity p ON p.id = e.parent_id
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(CURRENT_DOCUMENTS)
    op.execute(CURRENT_MENTIONS)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS current_mentions")
    op.execute("DROP VIEW IF EXISTS current_documents")
