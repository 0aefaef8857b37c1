"""Tracking over time: why a source fails (``source_health`` gains the last failed fetch);
unlinked snapshots found by URL (backfill in any order); each document's next recheck.

``document.next_check_at`` (UTC): when the recheck schedule fetches the document next
(``hubwatch.pipeline.recheck``); NULL means due now, which is what documents stored before
this revision are. ``ix_document_due`` finds a source's due documents that are not gone.

``host_politeness`` gains ``last_at`` (when the last request was claimed) and
``site_delay`` (seconds the host's robots.txt asks for): Crawl-delay and Request-rate feed
the gate every process shares.

``source_health`` gains, at the end of its column list (so ``CREATE OR REPLACE VIEW``
keeps the analysts' grant), ``last_error_outcome``, ``last_error_message`` and
``last_error_at``: the outcome, cause and time (UTC) of the source's most recent fetch
that did not succeed (a success is ``ok``, ``not_modified``, ``gone`` or ``no_text``, as in
the rest of the view since 0005), page or discovery alike. NULL when the source never failed.

The SQL is written out here (not imported), as in 0003 and 0005, so that this revision stays what
it was when a later one replaces the view.

Revision ID: 0007
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None

ROLE = "hubwatch_analyst"

_HEALTH_BODY = """
WITH runs AS (
    SELECT sn.source_id, sn.crawl_run_id, max(sn.fetched_at) AS run_at,
           bool_or(sn.outcome IN ({SUCCEEDED})) AS succeeded
    FROM snapshot sn
    WHERE sn.source_id IS NOT NULL AND sn.crawl_run_id IS NOT NULL
    GROUP BY sn.source_id, sn.crawl_run_id
),
ranked AS (
    SELECT r.*, row_number() OVER (PARTITION BY r.source_id ORDER BY r.run_at DESC,
                                   r.crawl_run_id DESC) AS rn
    FROM runs r
),
last_run AS (
    SELECT rk.source_id, rk.crawl_run_id, rk.run_at,
           count(sn.id) AS pages,
           count(sn.id) FILTER (WHERE sn.outcome NOT IN ({SUCCEEDED})) AS failures,
           count(DISTINCT v.id) FILTER (WHERE v.published_at IS NULL) AS without_date,
           count(sn.id) FILTER (WHERE sn.outcome = 'no_text') AS without_text
    FROM ranked rk
    JOIN snapshot sn ON sn.crawl_run_id = rk.crawl_run_id AND sn.source_id = rk.source_id
    LEFT JOIN document_version v ON v.id = sn.version_id
    WHERE rk.rn = 1
    GROUP BY rk.source_id, rk.crawl_run_id, rk.run_at
)
SELECT s.slug AS source, s.active,
       (SELECT max(sn.fetched_at) FROM snapshot sn
        WHERE sn.source_id = s.id AND sn.outcome IN ({SUCCEEDED}))
           AS last_success_at,
       (SELECT count(*) FROM ranked rk
        WHERE rk.source_id = s.id AND rk.rn < COALESCE(
            (SELECT min(r2.rn) FROM ranked r2 WHERE r2.source_id = s.id AND r2.succeeded),
            2147483647))::int AS consecutive_failures,
       lr.crawl_run_id AS last_run_id, lr.run_at AS last_run_at,
       COALESCE(lr.pages, 0)::int AS last_run_pages,
       COALESCE(lr.failures, 0)::int AS last_run_failures,
       COALESCE(lr.without_date, 0)::int AS last_run_without_date,
       COALESCE(lr.without_text, 0)::int AS last_run_without_text{extra}
FROM source s
LEFT JOIN last_run lr ON lr.source_id = s.id{join}
""".replace("{SUCCEEDED}", "'ok', 'not_modified', 'gone', 'no_text'")

# The newest failed fetch by the (source_id, fetched_at) index, read backwards.
_LAST_ERROR_COLUMNS = """,
       le.outcome AS last_error_outcome, le.error_message AS last_error_message,
       le.fetched_at AS last_error_at"""
_LAST_ERROR_JOIN = """
LEFT JOIN LATERAL (
    SELECT sn.outcome, sn.error_message, sn.fetched_at
    FROM snapshot sn
    WHERE sn.source_id = s.id AND sn.outcome NOT IN ('ok', 'not_modified', 'gone', 'no_text')
    ORDER BY sn.fetched_at DESC, sn.id DESC
    LIMIT 1
) le ON true"""

SOURCE_HEALTH_0007 = "CREATE OR REPLACE VIEW source_health AS" + _HEALTH_BODY.format(
    extra=_LAST_ERROR_COLUMNS, join=_LAST_ERROR_JOIN)
SOURCE_HEALTH_0005 = "CREATE VIEW source_health AS" + _HEALTH_BODY.format(extra="", join="")


def upgrade() -> None:
    # Politeness from robots.txt, shared by every process (hubwatch.crawl.politeness).
    op.add_column("host_politeness", sa.Column("last_at", sa.DateTime(timezone=True)))
    op.add_column("host_politeness", sa.Column("site_delay", sa.Float()))
    op.add_column("document", sa.Column("next_check_at", sa.DateTime(timezone=True)))
    op.create_index("ix_document_due", "document", ["source_id", "next_check_at"],
                    postgresql_where="gone_at IS NULL")
    op.execute(SOURCE_HEALTH_0007)
    # Backfill in any order: a 404 archived before the page's first 200 is stored with no
    # document; this finds it again by URL when the document appears.
    op.create_index("ix_snapshot_unlinked_url", "snapshot", ["requested_url"],
                    postgresql_where="document_id IS NULL")


def downgrade() -> None:
    op.drop_column("host_politeness", "site_delay")
    op.drop_column("host_politeness", "last_at")
    op.drop_index("ix_snapshot_unlinked_url", table_name="snapshot")
    op.drop_index("ix_document_due", table_name="document")
    op.drop_column("document", "next_check_at")
    # A view cannot lose columns in place: dropped, made again as 0005 had it, re-granted.
    op.execute("DROP VIEW source_health")
    op.execute(SOURCE_HEALTH_0005)
    op.execute(f"""
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        GRANT SELECT ON source_health TO {ROLE};
    END IF;
END
$$""")
