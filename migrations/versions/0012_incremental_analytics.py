"""Analytics kept current by the writes themselves: the five materialised views become
plain views over summary tables that are updated per changed document (issue 15, point 3).

Why: a full ``REFRESH MATERIALIZED VIEW CONCURRENTLY`` of the five views took 26 to 44 s
on a 200,000-version database (``document_entities`` alone 20-28 s, most of it the
concurrent refresh's row diff), growing with the corpus rather than with the run, and ran
after every writing run even when nothing had changed. ``pg_ivm`` is not available in the
embedded server.

How:

* Changes are captured in the database, not in the Python store functions (any write
  path, COPY and bulk ``INSERT ... SELECT`` included, is seen): statement-level AFTER
  triggers with transition tables on ``mention`` and ``document_version`` (insert,
  delete), and row-level triggers whose ``WHEN`` clause filters in C on the few columns
  the summaries read (``document_version.valid_to``/``valid_from``/``published_at``/
  ``language``, and ``content_hash``, which the sentence diffs of ``version_diffs`` read:
  a run recomputes the diffs of the queued documents only; ``document.source_id``/
  ``first_seen_at``/``canonical_url``; a source's
  slug, kind and language; an entity's key and parent), so the frequent updates
  (``last_fetched_at``, ``next_check_at``, ``gone_at``) cost nothing. Each records
  the affected document ids in ``analytics_queue``, keyed by (document, writing
  transaction): duplicates within one transaction collapse (``ON CONFLICT DO NOTHING``),
  while a writer never skips its row because another transaction's row for the same
  document is about to be consumed.
* ``analytics_refresh_documents(ids)`` recomputes the summary rows of those documents
  from the base tables (``analytics_document``: one row per current document with its
  day, source, kind and language; ``analytics_document_entity``; ``analytics_mention_change``),
  then the daily rows of every day they were or are counted on (``analytics_mention_daily``,
  ``analytics_hub_daily``: a day holds a few hundred documents, so a day is recomputed
  whole rather than patched), and applies the change of the documents' entity pairs to
  ``analytics_co_mention`` as a delta (a pair spans the whole corpus; recomputing it
  would be the full aggregate again). The caller serialises upkeepers with one advisory
  lock (``hubwatch.models.analytics.refresh_analytics``): under it the old summary rows of
  a document are exactly what the totals hold, so the deltas are exact.
* ``analytics_rebuild()`` recomputes everything (this migration, and repair).
* The recomputing SQL is kept once, as internal views and functions ``analytics_calc_*``
  (not granted): a predicate on ``document_id`` is pushed down into the views (a grouping
  and window partition column), the daily functions take the days, so the same
  definitions serve a few documents and the corpus (the upkeep plans each statement for
  its actual ids: ``plan_cache_mode = force_custom_plan``).
* ``TRUNCATE`` fires no row triggers: a TRUNCATE of a base table empties the summaries
  and queues the documents that remain.

The public views keep their names, columns and column types, and only their SELECT grant.
The summary tables are internal (not granted): analysts read the views.

Measured on a seeded 200,000-version / 1,000,000-mention database (benchmarks/seed.py,
PostgreSQL 15, 2 shared cores under load 2-5): this upgrade takes 21-39 s (the summaries
built from scratch, keys and indexes after the fill); after a 100-page import-warc the
upkeep takes 0.09 s (0.23 s for 87 edited pages) and the weekly trend, co-mention and
mention-change queries answer in 5, 1 and 27 ms (benchmarks/analyst_queries.py). The
capture costs about 50 us of server CPU per INSERT statement on ``mention`` (+20% when
each of 10,000 mentions is its own INSERT); batched as the store inserts them (one
statement per version) the difference is within the noise.

Downgrade: the materialised views of revision 0003 come back (their SQL read from that
revision's file, which never changes), filled, with their indexes and grants.

Revision ID: 0012
Revises: 0011 (raw bodies compressed)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ROLE = "hubwatch_analyst"
VIEWS = ("document_entities", "mention_daily", "hub_daily", "co_mentions", "mention_changes")

TABLES = """
CREATE TABLE analytics_queue (
    document_id bigint NOT NULL,
    queued_by bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    CONSTRAINT pk_analytics_queue PRIMARY KEY (document_id, queued_by)
);
CREATE TABLE analytics_document (
    document_id bigint NOT NULL,
    version_id bigint NOT NULL,
    day date NOT NULL,
    source text NOT NULL,
    kind text NOT NULL,
    language text
);
CREATE TABLE analytics_document_entity (
    document_id bigint NOT NULL,
    version_id bigint NOT NULL,
    source text NOT NULL,
    kind text NOT NULL,
    language text,
    day date NOT NULL,
    entity text NOT NULL,
    hub text NOT NULL,
    mentions integer NOT NULL
);
CREATE TABLE analytics_mention_daily (
    day date NOT NULL,
    entity text NOT NULL,
    hub text NOT NULL,
    source text NOT NULL,
    kind text NOT NULL,
    language text,
    documents integer NOT NULL,
    mentions integer NOT NULL,
    all_documents integer NOT NULL,
    share_of_documents double precision NOT NULL
);
CREATE TABLE analytics_hub_daily (
    day date NOT NULL,
    hub text NOT NULL,
    source text NOT NULL,
    kind text NOT NULL,
    language text,
    documents integer NOT NULL,
    mentions integer NOT NULL,
    all_documents integer NOT NULL,
    share_of_documents double precision NOT NULL
);
CREATE TABLE analytics_co_mention (
    entity_a text NOT NULL,
    entity_b text NOT NULL,
    documents integer NOT NULL
);
CREATE TABLE analytics_mention_change (
    document_id bigint NOT NULL,
    url text NOT NULL,
    version_id bigint NOT NULL,
    previous_version_id bigint NOT NULL,
    changed_at timestamptz NOT NULL,
    entity text NOT NULL,
    hub text NOT NULL,
    source text NOT NULL,
    added integer NOT NULL,
    removed integer NOT NULL,
    mentions_before integer NOT NULL,
    mentions_after integer NOT NULL
)
"""
SUMMARY_TABLES = ("analytics_document", "analytics_document_entity", "analytics_mention_daily",
                  "analytics_hub_daily", "analytics_co_mention", "analytics_mention_change")

# Keys and indexes are built after the first fill: 3 s where maintaining them row by
# row took 25 s (571,430 rows of document_entities on the seeded database).
KEYS = {"analytics_document": "document_id", "analytics_document_entity": "document_id, entity",
        "analytics_co_mention": "entity_a, entity_b",
        "analytics_mention_change": "version_id, entity"}
INDEXES = (
    *(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key})"
      for table, key in KEYS.items()),
    "CREATE INDEX ix_analytics_document_day ON analytics_document (day)",
    "CREATE INDEX ix_analytics_document_entity_day ON analytics_document_entity (day)",
    "CREATE INDEX ix_analytics_document_entity_entity_day ON analytics_document_entity (entity, day)",
    "CREATE INDEX ix_analytics_document_entity_hub_day ON analytics_document_entity (hub, day)",
    "CREATE UNIQUE INDEX uq_analytics_mention_daily_key ON analytics_mention_daily "
    "(day, entity, source, kind, language) NULLS NOT DISTINCT",
    "CREATE INDEX ix_analytics_mention_daily_hub_day ON analytics_mention_daily (hub, day)",
    "CREATE UNIQUE INDEX uq_analytics_hub_daily_key ON analytics_hub_daily "
    "(day, hub, source, kind, language) NULLS NOT DISTINCT",
    "CREATE INDEX ix_analytics_mention_change_changed_at ON analytics_mention_change (changed_at)",
    "CREATE INDEX ix_analytics_mention_change_document_id ON analytics_mention_change (document_id)",
)

# -- what the summaries hold, computed (internal views, same rules as revision 0003) ------

# The day of a document is published_at in Asia/Shanghai, else first_seen_at.
CALC_DOCUMENT = """
CREATE VIEW analytics_calc_document AS
SELECT cd.document_id, cd.version_id,
       (COALESCE(cd.published_at, cd.first_seen_at) AT TIME ZONE 'Asia/Shanghai')::date AS day,
       cd.source, cd.kind, cd.language
FROM current_documents cd
"""

# Mentions are counted per entity id first: the entity tree joins the grouped rows.
CALC_DOCUMENT_ENTITY = """
CREATE VIEW analytics_calc_document_entity AS
SELECT b.document_id, b.version_id, b.source, b.kind, b.language, b.day,
       en.entity, en.hub, b.mentions
FROM (SELECT d.document_id, d.version_id, d.source, d.kind, d.language, d.day,
             m.entity_id, count(*)::int AS mentions
      FROM analytics_calc_document d JOIN mention m ON m.version_id = d.version_id
      GROUP BY d.document_id, d.version_id, d.source, d.kind, d.language, d.day,
               m.entity_id) b
JOIN entities en ON en.entity_id = b.entity_id
"""

# Net change per entity between a version and the one before it (by valid_from).
CALC_MENTION_CHANGE = """
CREATE VIEW analytics_calc_mention_change AS
SELECT p.document_id, d.canonical_url AS url, p.version_id, p.previous_version_id,
       p.changed_at, en.entity, en.hub, s.slug AS source,
       GREATEST(c.mentions_after - c.mentions_before, 0) AS added,
       GREATEST(c.mentions_before - c.mentions_after, 0) AS removed,
       c.mentions_before, c.mentions_after
FROM (SELECT * FROM (
          SELECT v.document_id, v.id AS version_id, v.valid_from AS changed_at,
                 lag(v.id) OVER (PARTITION BY v.document_id ORDER BY v.valid_from)
                     AS previous_version_id
          FROM document_version v) w
      WHERE w.previous_version_id IS NOT NULL) p
JOIN document d ON d.id = p.document_id
JOIN source s ON s.id = d.source_id
CROSS JOIN LATERAL (
    SELECT m.entity_id,
           count(*) FILTER (WHERE m.version_id = p.previous_version_id)::int AS mentions_before,
           count(*) FILTER (WHERE m.version_id = p.version_id)::int AS mentions_after
    FROM mention m WHERE m.version_id IN (p.version_id, p.previous_version_id)
    GROUP BY m.entity_id) c
JOIN entities en ON en.entity_id = c.entity_id
WHERE c.mentions_before <> c.mentions_after
"""

# The daily aggregates of ``days`` (NULL: every day), from the per-document summaries: a
# day's denominator counts every current document of that day, source, kind and
# language, with or without mentions. Functions rather than views: a day list would not
# reach the denominators' subquery through the join (only equalities travel across it).
CALC_MENTION_DAILY = """
CREATE FUNCTION analytics_calc_mention_daily(days date[]) RETURNS SETOF analytics_mention_daily
LANGUAGE sql STABLE AS $fn$
SELECT p.day, p.entity, p.hub, p.source, p.kind, p.language,
       p.documents::int, p.mentions::int, t.all_documents::int,
       p.documents::float8 / t.all_documents
FROM (SELECT day, entity, hub, source, kind, language,
             count(*) AS documents, sum(mentions) AS mentions
      FROM analytics_document_entity WHERE days IS NULL OR day = ANY(days)
      GROUP BY day, entity, hub, source, kind, language) p
JOIN (SELECT day, source, kind, language, count(*) AS all_documents
      FROM analytics_document WHERE days IS NULL OR day = ANY(days)
      GROUP BY day, source, kind, language) t
  ON t.day = p.day AND t.source = p.source AND t.kind = p.kind
 AND t.language IS NOT DISTINCT FROM p.language
$fn$
"""

# A document that mentions a hub and one of its sub-areas counts once for the hub.
CALC_HUB_DAILY = """
CREATE FUNCTION analytics_calc_hub_daily(days date[]) RETURNS SETOF analytics_hub_daily
LANGUAGE sql STABLE AS $fn$
SELECT p.day, p.hub, p.source, p.kind, p.language,
       p.documents::int, p.mentions::int, t.all_documents::int,
       p.documents::float8 / t.all_documents
FROM (SELECT day, hub, source, kind, language, count(*) AS documents, sum(mentions) AS mentions
      FROM (SELECT document_id, day, hub, source, kind, language, sum(mentions) AS mentions
            FROM analytics_document_entity WHERE days IS NULL OR day = ANY(days)
            GROUP BY document_id, day, hub, source, kind, language) per_doc
      GROUP BY day, hub, source, kind, language) p
JOIN (SELECT day, source, kind, language, count(*) AS all_documents
      FROM analytics_document WHERE days IS NULL OR day = ANY(days)
      GROUP BY day, source, kind, language) t
  ON t.day = p.day AND t.source = p.source AND t.kind = p.kind
 AND t.language IS NOT DISTINCT FROM p.language
$fn$
"""
CALC_VIEWS = ("analytics_calc_document", "analytics_calc_document_entity",
              "analytics_calc_mention_change")

# -- the public views: same names, columns and types as the materialised views of 0003 ----

PUBLIC_VIEWS = {
    "document_entities": "SELECT document_id, version_id, source, kind, language, day, entity, "
                         "hub, mentions FROM analytics_document_entity",
    "mention_daily": "SELECT day, entity, hub, source, kind, language, documents, mentions, "
                     "all_documents, share_of_documents FROM analytics_mention_daily",
    "hub_daily": "SELECT day, hub, source, kind, language, documents, mentions, all_documents, "
                 "share_of_documents FROM analytics_hub_daily",
    "co_mentions": "SELECT entity_a, entity_b, documents FROM analytics_co_mention",
    "mention_changes": "SELECT document_id, url, version_id, previous_version_id, changed_at, "
                       "entity, hub, source, added, removed, mentions_before, mentions_after "
                       "FROM analytics_mention_change",
}

# -- upkeep ------------------------------------------------------------------------------

# Pairs of entities per document, counted with ``sign`` into analytics_co_mention.
_PAIRS = """
    INSERT INTO analytics_co_mention AS c (entity_a, entity_b, documents)
    SELECT a.entity, b.entity, {sign} count(*)
    FROM analytics_document_entity a
    JOIN analytics_document_entity b ON b.document_id = a.document_id AND a.entity < b.entity
    WHERE a.document_id = ANY(ids) AND b.document_id = ANY(ids)
    GROUP BY a.entity, b.entity
    ON CONFLICT (entity_a, entity_b) DO UPDATE SET documents = c.documents + excluded.documents;
"""

REFRESH_DAYS = """
CREATE FUNCTION analytics_refresh_days(days date[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $fn$
BEGIN
    DELETE FROM analytics_mention_daily WHERE day = ANY(days);
    INSERT INTO analytics_mention_daily SELECT * FROM analytics_calc_mention_daily(days);
    DELETE FROM analytics_hub_daily WHERE day = ANY(days);
    INSERT INTO analytics_hub_daily SELECT * FROM analytics_calc_hub_daily(days);
END
$fn$
"""

REFRESH_DOCUMENTS = f"""
CREATE FUNCTION analytics_refresh_documents(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $fn$
DECLARE
    days date[];
BEGIN
    -- The documents' pairs leave the co-mention totals as they were counted ...
    {_PAIRS.format(sign="-")}
    SELECT array_agg(day) INTO days FROM analytics_document WHERE document_id = ANY(ids);
    DELETE FROM analytics_document_entity WHERE document_id = ANY(ids);
    DELETE FROM analytics_document WHERE document_id = ANY(ids);
    INSERT INTO analytics_document SELECT * FROM analytics_calc_document
    WHERE document_id = ANY(ids);
    INSERT INTO analytics_document_entity SELECT * FROM analytics_calc_document_entity
    WHERE document_id = ANY(ids);
    -- ... and come back as they are now.
    {_PAIRS.format(sign="")}
    DELETE FROM analytics_co_mention WHERE documents = 0;
    SELECT array_agg(DISTINCT x.day) INTO days FROM (
        SELECT unnest(days) AS day UNION
        SELECT day FROM analytics_document WHERE document_id = ANY(ids)) x;
    PERFORM analytics_refresh_days(COALESCE(days, '{{}}'));
    DELETE FROM analytics_mention_change WHERE document_id = ANY(ids);
    INSERT INTO analytics_mention_change SELECT * FROM analytics_calc_mention_change
    WHERE document_id = ANY(ids);
END
$fn$
"""

# The nested loops the planner picks for the entity tree's guessed size are fine for a
# few documents, not for the corpus: a rebuild runs with hash joins.
REBUILD = """
CREATE FUNCTION analytics_rebuild() RETURNS bigint
LANGUAGE plpgsql SET enable_nestloop = off SET work_mem = '64MB' AS $fn$
DECLARE
    documents bigint;
BEGIN
    DELETE FROM analytics_queue;
    DELETE FROM analytics_document;
    DELETE FROM analytics_document_entity;
    DELETE FROM analytics_mention_daily;
    DELETE FROM analytics_hub_daily;
    DELETE FROM analytics_co_mention;
    DELETE FROM analytics_mention_change;
    INSERT INTO analytics_document SELECT * FROM analytics_calc_document;
    GET DIAGNOSTICS documents = ROW_COUNT;
    INSERT INTO analytics_document_entity SELECT * FROM analytics_calc_document_entity;
    INSERT INTO analytics_mention_daily SELECT * FROM analytics_calc_mention_daily(NULL);
    INSERT INTO analytics_hub_daily SELECT * FROM analytics_calc_hub_daily(NULL);
    INSERT INTO analytics_co_mention
    SELECT a.entity, b.entity, count(*)::int FROM analytics_document_entity a
    JOIN analytics_document_entity b ON b.document_id = a.document_id AND a.entity < b.entity
    GROUP BY a.entity, b.entity;
    INSERT INTO analytics_mention_change SELECT * FROM analytics_calc_mention_change;
    RETURN documents;
END
$fn$
"""

# -- change capture ----------------------------------------------------------------------

CAPTURE_FUNCTIONS = """
CREATE FUNCTION analytics_enqueue_versions() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO analytics_queue (document_id)
    SELECT DISTINCT document_id FROM changed_rows ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$fn$;
CREATE FUNCTION analytics_enqueue_mentions() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO analytics_queue (document_id)
    SELECT DISTINCT v.document_id
    FROM (SELECT DISTINCT version_id FROM changed_rows) c
    JOIN document_version v ON v.id = c.version_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$fn$;
CREATE FUNCTION analytics_enqueue_row() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_TABLE_NAME = 'document' THEN
        INSERT INTO analytics_queue (document_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    ELSIF TG_TABLE_NAME = 'document_version' THEN
        INSERT INTO analytics_queue (document_id)
        SELECT DISTINCT x FROM unnest(ARRAY[OLD.document_id, NEW.document_id]) x
        ON CONFLICT DO NOTHING;
    ELSIF TG_TABLE_NAME = 'mention' THEN
        INSERT INTO analytics_queue (document_id)
        SELECT DISTINCT document_id FROM document_version
        WHERE id IN (OLD.version_id, NEW.version_id)
        ON CONFLICT DO NOTHING;
    ELSIF TG_TABLE_NAME = 'source' THEN
        INSERT INTO analytics_queue (document_id)
        SELECT id FROM document WHERE source_id = NEW.id ON CONFLICT DO NOTHING;
    ELSIF TG_TABLE_NAME = 'entity' THEN
        -- the entity and every entity below it (their hub may have changed)
        INSERT INTO analytics_queue (document_id)
        WITH RECURSIVE below AS (
            SELECT NEW.id AS id
            UNION
            SELECT e.id FROM entity e JOIN below b ON e.parent_id = b.id)
        SELECT DISTINCT v.document_id FROM mention m
        JOIN document_version v ON v.id = m.version_id
        WHERE m.entity_id IN (SELECT id FROM below)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE FUNCTION analytics_truncated() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    -- DELETE, not TRUNCATE: a TRUNCATE naming these tables too (a reset of every table)
    -- still holds them here, and a nested TRUNCATE of a table in use is refused.
    DELETE FROM analytics_queue; DELETE FROM analytics_document;
    DELETE FROM analytics_document_entity; DELETE FROM analytics_mention_daily;
    DELETE FROM analytics_hub_daily; DELETE FROM analytics_co_mention;
    DELETE FROM analytics_mention_change;
    INSERT INTO analytics_queue (document_id) SELECT id FROM document ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$fn$
"""
FUNCTIONS = ("analytics_calc_mention_daily(date[])", "analytics_calc_hub_daily(date[])",
             "analytics_enqueue_versions()", "analytics_enqueue_mentions()",
             "analytics_enqueue_row()", "analytics_truncated()",
             "analytics_refresh_days(date[])", "analytics_refresh_documents(bigint[])",
             "analytics_rebuild()")

TRIGGERS = {
    "analytics_versions_inserted": "AFTER INSERT ON document_version REFERENCING NEW TABLE AS "
                                   "changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "
                                   "analytics_enqueue_versions()",
    "analytics_versions_deleted": "AFTER DELETE ON document_version REFERENCING OLD TABLE AS "
                                  "changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "
                                  "analytics_enqueue_versions()",
    "analytics_version_updated": "AFTER UPDATE ON document_version FOR EACH ROW WHEN ("
                                 "OLD.valid_to IS DISTINCT FROM NEW.valid_to "
                                 "OR OLD.valid_from IS DISTINCT FROM NEW.valid_from "
                                 "OR OLD.published_at IS DISTINCT FROM NEW.published_at "
                                 "OR OLD.language IS DISTINCT FROM NEW.language "
                                 "OR OLD.content_hash IS DISTINCT FROM NEW.content_hash "
                                 "OR OLD.document_id IS DISTINCT FROM NEW.document_id) "
                                 "EXECUTE FUNCTION analytics_enqueue_row()",
    "analytics_mentions_inserted": "AFTER INSERT ON mention REFERENCING NEW TABLE AS "
                                   "changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "
                                   "analytics_enqueue_mentions()",
    "analytics_mentions_deleted": "AFTER DELETE ON mention REFERENCING OLD TABLE AS "
                                  "changed_rows FOR EACH STATEMENT EXECUTE FUNCTION "
                                  "analytics_enqueue_mentions()",
    "analytics_mention_updated": "AFTER UPDATE ON mention FOR EACH ROW WHEN ("
                                 "OLD.version_id IS DISTINCT FROM NEW.version_id "
                                 "OR OLD.entity_id IS DISTINCT FROM NEW.entity_id) "
                                 "EXECUTE FUNCTION analytics_enqueue_row()",
    "analytics_document_updated": "AFTER UPDATE ON document FOR EACH ROW WHEN ("
                                  "OLD.source_id IS DISTINCT FROM NEW.source_id "
                                  "OR OLD.first_seen_at IS DISTINCT FROM NEW.first_seen_at "
                                  "OR OLD.canonical_url IS DISTINCT FROM NEW.canonical_url) "
                                  "EXECUTE FUNCTION analytics_enqueue_row()",
    "analytics_source_updated": "AFTER UPDATE ON source FOR EACH ROW WHEN ("
                                "OLD.slug IS DISTINCT FROM NEW.slug "
                                "OR OLD.kind IS DISTINCT FROM NEW.kind "
                                "OR OLD.language IS DISTINCT FROM NEW.language) "
                                "EXECUTE FUNCTION analytics_enqueue_row()",
    "analytics_entity_updated": "AFTER UPDATE ON entity FOR EACH ROW WHEN ("
                                "OLD.key IS DISTINCT FROM NEW.key "
                                "OR OLD.parent_id IS DISTINCT FROM NEW.parent_id) "
                                "EXECUTE FUNCTION analytics_enqueue_row()",
}
TRUNCATED_TABLES = ("document", "document_version", "mention", "source", "entity")


def _trigger_table(definition: str) -> str:
    return definition.split(" ON ", 1)[1].split()[0]


def upgrade() -> None:
    for view in reversed(VIEWS):
        op.execute(f"DROP MATERIALIZED VIEW {view}")
    op.execute(TABLES)
    for statement in (CALC_DOCUMENT, CALC_DOCUMENT_ENTITY, CALC_MENTION_CHANGE,
                      CALC_MENTION_DAILY, CALC_HUB_DAILY, REFRESH_DAYS, REFRESH_DOCUMENTS,
                      REBUILD, CAPTURE_FUNCTIONS):
        op.execute(statement)
    for name, definition in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")
    for table in TRUNCATED_TABLES:
        op.execute(f"CREATE TRIGGER analytics_{table}_truncated AFTER TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION analytics_truncated()")
    op.execute("SELECT analytics_rebuild()")
    for statement in INDEXES:
        op.execute(statement)
    for table in SUMMARY_TABLES:
        op.execute(f"ANALYZE {table}")
    for view, select in PUBLIC_VIEWS.items():
        op.execute(f"CREATE VIEW {view} AS {select}")
        op.execute(f"GRANT SELECT ON {view} TO {ROLE}")
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")


def _revision_0003():
    path = Path(__file__).with_name("0003_analyst_contract.py")
    spec = importlib.util.spec_from_file_location("hubwatch_revision_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    for view in reversed(VIEWS):
        op.execute(f"DROP VIEW {view}")
    for table in TRUNCATED_TABLES:
        op.execute(f"DROP TRIGGER analytics_{table}_truncated ON {table}")
    for name, definition in TRIGGERS.items():
        op.execute(f"DROP TRIGGER {name} ON {_trigger_table(definition)}")
    for function in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {function}")
    for view in reversed(CALC_VIEWS):
        op.execute(f"DROP VIEW {view}")
    op.execute(f"DROP TABLE analytics_queue, {', '.join(SUMMARY_TABLES)}")
    old = _revision_0003()
    for statement in (old.DOCUMENT_ENTITIES, old.MENTION_DAILY, old.HUB_DAILY, old.CO_MENTIONS,
                      old.MENTION_CHANGES, *old.MATVIEW_INDEXES):
        op.execute(statement)
    for view in VIEWS:
        op.execute(f"GRANT SELECT ON {view} TO {ROLE}")
