"""The analyst's SQL contract: views, materialised aggregates, as-of function, search
indexes and the read-only ``hubwatch_analyst`` role.

Why materialised views for ``document_entities``, ``mention_daily``, ``hub_daily``,
``co_mentions`` and ``mention_changes``: on a corpus of 200,000 versions and 1,000,000 mentions the plain
aggregates take seconds; the analyst queries must answer in well under a second. They
are refreshed (CONCURRENTLY, hence one unique index each) by
``hubwatch.models.analytics.refresh_analytics`` at the end of every flow run that writes.
Alembic does not reflect views or materialised views, so ``alembic check`` compares only
the tables and their indexes; the two search indexes are declared on the table in
Python too (``hubwatch.models.schema.DocumentVersion``).

Why grants view by view and no ``ALTER DEFAULT PRIVILEGES``: a default privilege on
tables also opens every base table created later (see docs/analyst.md, "Roles"). The
role is cluster-wide and may be shared by several databases: it is created only when
missing and never dropped.

The SQL is written out here (not imported) so that this revision stays what it was when
later revisions replace a view.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ROLE = "hubwatch_analyst"

ENTITIES = """
CREATE VIEW entities AS
WITH RECURSIVE tree AS (
    SELECT e.id, e.key, e.key AS hub, NULL::text AS parent, 0 AS depth
    FROM entity e WHERE e.parent_id IS NULL
    UNION ALL
    SELECT e.id, e.key, t.hub, t.key, t.depth + 1
    FROM entity e JOIN tree t ON e.parent_id = t.id
)
SELECT t.id AS entity_id, t.key AS entity, e.name AS entity_name, e.name_zh AS entity_name_zh,
       t.parent, t.hub, t.depth, e.active
FROM tree t JOIN entity e ON e.id = t.id
"""

# Same columns, in the same order, as revision 0002; hub now from the entity tree.
CURRENT_MENTIONS = """
CREATE OR REPLACE VIEW current_mentions AS
SELECT cd.document_id, cd.version_id, cd.url, cd.source, cd.kind, cd.language,
       cd.published_at, en.entity, en.entity_name, en.hub,
       m.surface, m.zone, m.start_offset, m.end_offset, m.sentence
FROM current_documents cd
JOIN mention m ON m.version_id = cd.version_id
JOIN entities en ON en.entity_id = m.entity_id
"""

CURRENT_MENTIONS_0002 = """
CREATE OR REPLACE VIEW current_mentions AS
SELECT cd.document_id, cd.version_id, cd.url, cd.source, cd.kind, cd.language,
       cd.published_at, e.key AS entity, e.name AS entity_name, COALESCE(p.key, e.key) AS hub,
       m.surface, m.zone, m.start_offset, m.end_offset, m.sentence
FROM current_documents cd
JOIN mention m ON m.version_id = cd.version_id
JOIN entity e ON e.id = m.entity_id
LEFT JOIN entity p ON p.id = e.parent_id
"""

DOCUMENT_HISTORY = """
CREATE VIEW document_history AS
SELECT v.document_id, v.id AS version_id, v.version_no, d.canonical_url AS url, v.title,
       v.valid_from, v.valid_to, v.content_hash, s.slug AS source, v.captured_at,
       v.published_at, v.language, length(v.main_text) AS text_chars,
       lag(v.id) OVER w AS previous_version_id
FROM document_version v
JOIN document d ON d.id = v.document_id
JOIN source s ON s.id = d.source_id
WINDOW w AS (PARTITION BY v.document_id ORDER BY v.valid_from)
"""

# Characters added/removed are a paragraph-level multiset difference: cheap, in SQL, and
# an upper bound of the true edit (a paragraph changed by one character counts whole).
VERSION_CHANGES = """
CREATE VIEW version_changes AS
WITH pairs AS (
    SELECT v.document_id, v.id AS version_id, v.version_no, v.valid_from AS changed_at,
           lag(v.id) OVER w AS previous_version_id
    FROM document_version v
    WINDOW w AS (PARTITION BY v.document_id ORDER BY v.valid_from)
)
SELECT p.document_id, d.canonical_url AS url, p.version_id, p.previous_version_id,
       p.version_no, p.changed_at, cur.title IS DISTINCT FROM prev.title AS title_changed,
       prev.title AS previous_title, cur.title,
       length(prev.main_text) AS chars_before, length(cur.main_text) AS chars_after,
       diff.chars_added, diff.chars_removed
FROM pairs p
JOIN document d ON d.id = p.document_id
JOIN document_version cur ON cur.id = p.version_id
JOIN document_version prev ON prev.id = p.previous_version_id
CROSS JOIN LATERAL (
    SELECT COALESCE(sum(length(g.para) * GREATEST(g.n_new - g.n_old, 0)), 0)::int AS chars_added,
           COALESCE(sum(length(g.para) * GREATEST(g.n_old - g.n_new, 0)), 0)::int AS chars_removed
    FROM (
        SELECT x.para, count(*) FILTER (WHERE x.side = 1) AS n_new,
               count(*) FILTER (WHERE x.side = 0) AS n_old
        FROM (
            SELECT unnest(string_to_array(cur.main_text, E'\\n\\n')) AS para, 1 AS side
            UNION ALL
            SELECT unnest(string_to_array(prev.main_text, E'\\n\\n')), 0
        ) x
        GROUP BY x.para
    ) g
) diff
"""

# A fetch "succeeds" when the site answered as a working site does: ok, not_modified, or
# gone (a 404/410 for one page says nothing bad about the source).
SOURCE_HEALTH = """
CREATE VIEW source_health AS
WITH runs AS (
    SELECT sn.source_id, sn.crawl_run_id, max(sn.fetched_at) AS run_at,
           bool_or(sn.outcome IN ('ok', 'not_modified', 'gone')) AS succeeded
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
           count(sn.id) FILTER (WHERE sn.outcome NOT IN ('ok', 'not_modified', 'gone')) AS failures,
           count(DISTINCT v.id) FILTER (WHERE v.published_at IS NULL) AS without_date,
           count(DISTINCT v.id) FILTER (WHERE btrim(v.main_text) = '') AS without_text
    FROM ranked rk
    JOIN snapshot sn ON sn.crawl_run_id = rk.crawl_run_id AND sn.source_id = rk.source_id
    LEFT JOIN document_version v ON v.id = sn.version_id
    WHERE rk.rn = 1
    GROUP BY rk.source_id, rk.crawl_run_id, rk.run_at
)
SELECT s.slug AS source, s.active,
       (SELECT max(sn.fetched_at) FROM snapshot sn
        WHERE sn.source_id = s.id AND sn.outcome IN ('ok', 'not_modified', 'gone'))
           AS last_success_at,
       (SELECT count(*) FROM ranked rk
        WHERE rk.source_id = s.id AND rk.rn < COALESCE(
            (SELECT min(r2.rn) FROM ranked r2 WHERE r2.source_id = s.id AND r2.succeeded),
            2147483647))::int AS consecutive_failures,
       lr.crawl_run_id AS last_run_id, lr.run_at AS last_run_at,
       COALESCE(lr.pages, 0)::int AS last_run_pages,
       COALESCE(lr.failures, 0)::int AS last_run_failures,
       COALESCE(lr.without_date, 0)::int AS last_run_without_date,
       COALESCE(lr.without_text, 0)::int AS last_run_without_text
FROM source s
LEFT JOIN last_run lr ON lr.source_id = s.id
"""

# One row per (current document, entity): the base of the daily aggregates. The day of a
# document is published_at in Asia/Shanghai, else first_seen_at. The heavy part
# is MATERIALIZED before the entity tree is joined: the tree's row estimate would
# otherwise push the planner into nested loops over every mention.
DOCUMENT_ENTITIES = """
CREATE MATERIALIZED VIEW document_entities AS
WITH base AS MATERIALIZED (
    SELECT cd.document_id, cd.version_id, cd.source, cd.kind, cd.language,
           (COALESCE(cd.published_at, cd.first_seen_at) AT TIME ZONE 'Asia/Shanghai')::date AS day,
           m.entity_id, count(*)::int AS mentions
    FROM current_documents cd JOIN mention m ON m.version_id = cd.version_id
    GROUP BY cd.document_id, cd.version_id, cd.source, cd.kind, cd.language, 6, m.entity_id
)
SELECT b.document_id, b.version_id, b.source, b.kind, b.language, b.day,
       en.entity, en.hub, b.mentions
FROM base b JOIN entities en ON en.entity_id = b.entity_id
"""

# Current documents per day, source, kind and language: the denominators of the shares.
DAILY_TOTALS = """
    SELECT (COALESCE(cd.published_at, cd.first_seen_at) AT TIME ZONE 'Asia/Shanghai')::date AS day,
           cd.source, cd.kind, cd.language, count(*) AS all_documents
    FROM current_documents cd GROUP BY 1, 2, 3, 4
"""

MENTION_DAILY = f"""
CREATE MATERIALIZED VIEW mention_daily AS
WITH totals AS MATERIALIZED ({DAILY_TOTALS}),
per_entity AS MATERIALIZED (
    SELECT day, entity, hub, source, kind, language,
           count(*) AS documents, sum(mentions) AS mentions
    FROM document_entities GROUP BY day, entity, hub, source, kind, language
)
SELECT p.day, p.entity, p.hub, p.source, p.kind, p.language,
       p.documents::int AS documents, p.mentions::int AS mentions,
       t.all_documents::int AS all_documents,
       (p.documents::float8 / t.all_documents) AS share_of_documents
FROM per_entity p
JOIN totals t ON t.day = p.day AND t.source = p.source AND t.kind = p.kind
             AND t.language IS NOT DISTINCT FROM p.language
"""

# Like mention_daily, with every sub-area folded into its hub: a document that mentions a
# hub and one of its sub-areas counts once.
HUB_DAILY = f"""
CREATE MATERIALIZED VIEW hub_daily AS
WITH totals AS MATERIALIZED ({DAILY_TOTALS}),
per_doc AS (
    SELECT document_id, day, hub, source, kind, language, sum(mentions) AS mentions
    FROM document_entities GROUP BY document_id, day, hub, source, kind, language
),
per_hub AS MATERIALIZED (
    SELECT day, hub, source, kind, language, count(*) AS documents, sum(mentions) AS mentions
    FROM per_doc GROUP BY day, hub, source, kind, language
)
SELECT p.day, p.hub, p.source, p.kind, p.language,
       p.documents::int AS documents, p.mentions::int AS mentions,
       t.all_documents::int AS all_documents,
       (p.documents::float8 / t.all_documents) AS share_of_documents
FROM per_hub p
JOIN totals t ON t.day = p.day AND t.source = p.source AND t.kind = p.kind
             AND t.language IS NOT DISTINCT FROM p.language
"""

CO_MENTIONS = """
CREATE MATERIALIZED VIEW co_mentions AS
SELECT a.entity AS entity_a, b.entity AS entity_b, count(*)::int AS documents
FROM document_entities a
JOIN document_entities b ON b.document_id = a.document_id AND a.entity < b.entity
GROUP BY a.entity, b.entity
"""

# Net change of the number of mentions per entity between a version and the one before
# (previous = the version with the next earlier valid_from, whatever the import order).
MENTION_CHANGES = """
CREATE MATERIALIZED VIEW mention_changes AS
WITH pairs AS MATERIALIZED (
    SELECT * FROM (
        SELECT v.document_id, v.id AS version_id, v.valid_from AS changed_at,
               lag(v.id) OVER (PARTITION BY v.document_id ORDER BY v.valid_from)
                   AS previous_version_id
        FROM document_version v) x
    WHERE x.previous_version_id IS NOT NULL
),
counts AS MATERIALIZED (
    SELECT p.version_id, m.entity_id,
           count(*) FILTER (WHERE m.version_id = p.previous_version_id)::int AS mentions_before,
           count(*) FILTER (WHERE m.version_id = p.version_id)::int AS mentions_after
    FROM pairs p JOIN mention m ON m.version_id IN (p.version_id, p.previous_version_id)
    GROUP BY p.version_id, m.entity_id
)
SELECT p.document_id, d.canonical_url AS url, p.version_id, p.previous_version_id,
       p.changed_at, en.entity, en.hub, s.slug AS source,
       GREATEST(c.mentions_after - c.mentions_before, 0) AS added,
       GREATEST(c.mentions_before - c.mentions_after, 0) AS removed,
       c.mentions_before, c.mentions_after
FROM counts c
JOIN pairs p ON p.version_id = c.version_id
JOIN document d ON d.id = p.document_id
JOIN source s ON s.id = d.source_id
JOIN entities en ON en.entity_id = c.entity_id
WHERE c.mentions_before <> c.mentions_after
"""

MATVIEW_INDEXES = (
    "CREATE UNIQUE INDEX uq_document_entities_key ON document_entities (document_id, entity)",
    "CREATE INDEX ix_document_entities_entity_day ON document_entities (entity, day)",
    "CREATE INDEX ix_document_entities_hub_day ON document_entities (hub, day)",
    "CREATE UNIQUE INDEX uq_mention_daily_key ON mention_daily "
    "(day, entity, source, kind, language) NULLS NOT DISTINCT",
    "CREATE INDEX ix_mention_daily_hub_day ON mention_daily (hub, day)",
    "CREATE UNIQUE INDEX uq_hub_daily_key ON hub_daily "
    "(day, hub, source, kind, language) NULLS NOT DISTINCT",
    "CREATE UNIQUE INDEX uq_co_mentions_key ON co_mentions (entity_a, entity_b)",
    "CREATE UNIQUE INDEX uq_mention_changes_key ON mention_changes (version_id, entity)",
    "CREATE INDEX ix_mention_changes_changed_at ON mention_changes (changed_at)",
    "CREATE INDEX ix_mention_changes_document ON mention_changes (document_id)",
)

DOCUMENTS_AS_OF = """
CREATE FUNCTION documents_as_of(ts timestamptz) RETURNS SETOF current_documents
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
SELECT d.id, d.canonical_url, s.slug, s.kind, COALESCE(v.language, s.language), v.title,
       v.published_at, v.published_precision, d.first_seen_at,
       COALESCE((SELECT max(sn.fetched_at) FROM snapshot sn
                 WHERE sn.document_id = d.id AND sn.fetched_at <= ts), v.captured_at),
       v.version_no, CASE WHEN d.gone_at <= ts THEN d.gone_at END, v.main_text,
       v.id, v.valid_from, v.content_hash, v.author
FROM document d
JOIN source s ON s.id = d.source_id
JOIN document_version v ON v.document_id = d.id
WHERE v.valid_from <= ts AND (v.valid_to IS NULL OR ts < v.valid_to)
$fn$
"""

SEARCH_INDEXES = (
    "CREATE INDEX ix_document_version_fts_en ON document_version "
    "USING gin (to_tsvector('english'::regconfig, main_text)) WHERE valid_to IS NULL",
    "CREATE INDEX ix_document_version_text_trgm ON document_version "
    "USING gin (main_text gin_trgm_ops) WHERE valid_to IS NULL",
)

PLAIN_VIEWS = ("entities", "document_history", "version_changes", "source_health")
MATVIEWS = ("document_entities", "mention_daily", "hub_daily", "co_mentions", "mention_changes")
GRANTED = ("current_documents", "current_mentions", *PLAIN_VIEWS, *MATVIEWS)

CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        CREATE ROLE {ROLE} NOLOGIN;
    END IF;
END
$$
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for statement in SEARCH_INDEXES:
        op.execute(statement)
    for statement in (ENTITIES, CURRENT_MENTIONS, DOCUMENT_HISTORY, VERSION_CHANGES,
                      SOURCE_HEALTH, DOCUMENT_ENTITIES, MENTION_DAILY, HUB_DAILY, CO_MENTIONS, MENTION_CHANGES,
                      *MATVIEW_INDEXES, DOCUMENTS_AS_OF):
        op.execute(statement)
    op.execute(CREATE_ROLE)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
    for view in GRANTED:
        op.execute(f"GRANT SELECT ON {view} TO {ROLE}")
    op.execute("REVOKE ALL ON FUNCTION documents_as_of(timestamptz) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION documents_as_of(timestamptz) TO {ROLE}")


def downgrade() -> None:
    # The role stays (cluster-wide, maybe used by other databases); only its rights here go.
    op.execute(f"""
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        REVOKE SELECT ON current_documents, current_mentions FROM {ROLE};
        REVOKE USAGE ON SCHEMA public FROM {ROLE};
    END IF;
END
$$""")
    op.execute("DROP FUNCTION IF EXISTS documents_as_of(timestamptz)")
    for view in reversed(MATVIEWS):
        op.execute(f"DROP MATERIALIZED VIEW IF EXISTS {view}")
    op.execute(CURRENT_MENTIONS_0002)
    for view in reversed(PLAIN_VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {view}")
    op.execute("DROP INDEX IF EXISTS ix_document_version_text_trgm")
    op.execute("DROP INDEX IF EXISTS ix_document_version_fts_en")
