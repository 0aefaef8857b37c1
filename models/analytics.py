"""SQL helpers for the analyst's views (migration 0003; guide: docs/analyst.md).

Public API:

* ``refresh_analytics(session)``: refresh the materialised views; call it at the end of
  every flow run that writes (nightly, ingest, import-warc, reprocess).
* ``documents_as_of(session, ts)``: the corpus as it stood at ``ts``.
* ``search_english(session, query)``, ``search_chinese(session, needle)``: search the
  current text with the two GIN indexes.
* ``weekly_counts(session, weeks)``, ``weekly_summary_markdown(session, weeks)``: the
  weekly trend the report and the nightly's artifact show.
* ``ANALYST_VIEWS``, ``MATERIALIZED_VIEWS``: the public relations, for exports and tests.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from hubwatch.models.schema import DocumentVersion

# In refresh order: the daily views and co_mentions read document_entities.
MATERIALIZED_VIEWS = ("document_entities", "mention_daily", "hub_daily", "co_mentions",
                      "mention_changes")
ANALYST_VIEWS = ("current_documents", "current_mentions", "entities", "document_history",
                 "version_changes", "version_diffs", "source_health", "policy_documents",
                 "attachments", *MATERIALIZED_VIEWS)
ANALYST_ROLE = "hubwatch_analyst"

# Chinese substring search needs three characters: pg_trgm indexes trigrams.
MIN_TRIGRAM_CHARS = 3


SEARCH_INDEXES = tuple(ix for ix in DocumentVersion.__table__.indexes
                       if ix.name in ("ix_document_version_fts_en", "ix_document_version_text_trgm"))


def refresh_analytics(session: Session, *, concurrently: bool = True) -> None:
    """Refresh every materialised analyst view from the current tables.

    Args:
        session: an open session; the caller commits (the refresh is transactional, and
            readers keep seeing the old rows until then).
        concurrently: ``REFRESH ... CONCURRENTLY`` (readers are never blocked; each view
            has the unique index it needs). ``False`` is faster on a first load.

    Call at the end of every flow run that writes (nightly, ingest, import-warc,
    reprocess); the views ``document_entities``, ``mention_daily``, ``hub_daily``,
    ``co_mentions`` and ``mention_changes`` are otherwise as of the last refresh.
    (``version_diffs`` reads rows the flows compute just before: see
    ``hubwatch.pipeline.diffs``.)
    """
    mode = "CONCURRENTLY " if concurrently else ""
    # Hash aggregates over a million mentions spill to disk at the default 4 MB.
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    for view in MATERIALIZED_VIEWS:
        session.execute(text(f"REFRESH MATERIALIZED VIEW {mode}{view}"))


def documents_as_of(session: Session, ts: dt.datetime) -> list[dict[str, Any]]:
    """Each document's version valid at ``ts`` (``valid_from <= ts < valid_to``).

    Args:
        ts: an aware datetime (any zone); a naive one is refused.

    Returns:
        Rows as dicts with the columns of ``current_documents``, ordered by document id.

    Raises:
        ValueError: ``ts`` is naive (its zone would silently be the server's).
    """
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError("documents_as_of needs an aware datetime")
    rows = session.execute(text("SELECT * FROM documents_as_of(:ts) ORDER BY document_id"),
                           {"ts": ts})
    return [dict(r) for r in rows.mappings()]


def search_english(session: Session, query: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """Current documents matching a web-search style English query, best first.

    ``query`` uses PostgreSQL's ``websearch_to_tsquery`` syntax (quoted phrases, ``or``,
    ``-word``) with the ``english`` configuration (stemming: "hubs" finds "hub"). Served
    by the GIN index ``ix_document_version_fts_en``. Returns dicts with ``document_id,
    url, source, language, title, rank``.
    """
    sql = text("""
        SELECT document_id, url, source, language, title,
               ts_rank(to_tsvector('english', text), q) AS rank
        FROM current_documents, websearch_to_tsquery('english', :q) AS q
        WHERE to_tsvector('english', text) @@ q
        ORDER BY rank DESC, document_id LIMIT :limit""")
    return [dict(r) for r in session.execute(sql, {"q": query, "limit": limit}).mappings()]


def search_chinese(session: Session, needle: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """Current documents whose text contains ``needle`` (exact substring), newest first.

    Needles of three characters or more use the trigram index
    ``ix_document_version_text_trgm``; shorter ones still work, by a full scan. ``%`` and
    ``_`` in ``needle`` are matched literally. Returns dicts with ``document_id, url,
    source, language, title, published_at``.
    """
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = text("""
        SELECT document_id, url, source, language, title, published_at
        FROM current_documents WHERE text LIKE :p
        ORDER BY published_at DESC NULLS LAST, document_id LIMIT :limit""")
    return [dict(r) for r in session.execute(sql, {"p": pattern, "limit": limit}).mappings()]


def weekly_counts(session: Session, weeks: int) -> dict[str, list[tuple[dt.date, int]]]:
    """Documents per week mentioning each entity, the last ``weeks`` weeks (zeros kept).

    Returns ``{entity: [(week_start, documents), ...]}`` oldest first, for every entity of
    the watch-list (from ``mention_daily``: as of the last refresh).
    """
    rows = session.execute(text("""
        WITH weeks AS (
            SELECT generate_series(
                date_trunc('week', (now() AT TIME ZONE 'Asia/Shanghai')::date) - (:w - 1) * interval '1 week',
                date_trunc('week', (now() AT TIME ZONE 'Asia/Shanghai')::date),
                interval '1 week')::date AS week)
        SELECT en.entity, w.week, COALESCE(sum(md.documents), 0)::int AS documents
        FROM entities en CROSS JOIN weeks w
        LEFT JOIN mention_daily md ON md.entity = en.entity
             AND md.day >= w.week AND md.day < w.week + 7
        GROUP BY en.entity, w.week ORDER BY en.entity, w.week"""), {"w": weeks})
    counts: dict[str, list[tuple[dt.date, int]]] = {}
    for entity, week, documents in rows:
        counts.setdefault(entity, []).append((week, documents))
    return counts


def weekly_summary_markdown(session: Session, weeks: int) -> str:
    """A short markdown summary: per entity, this week against the week before and the
    total over ``weeks`` weeks, then the mention changes of the last 7 days.

    Args:
        session: any session able to read the analyst views.
        weeks: how many weeks the totals cover (>= 1).
    """
    counts = weekly_counts(session, max(weeks, 1))
    lines = [f"# hubwatch: weekly mentions ({weeks} weeks)", "",
             "| entity | this week | week before | change | total |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for entity, series in counts.items():
        now_n = series[-1][1]
        before = series[-2][1] if len(series) > 1 else 0
        total = sum(n for _, n in series)
        lines.append(f"| {entity} | {now_n} | {before} | {now_n - before:+d} | {total} |")
    changes = session.execute(text("""
        SELECT entity, sum(added)::int AS added, sum(removed)::int AS removed,
               count(DISTINCT document_id)::int AS documents
        FROM mention_changes WHERE changed_at >= now() - interval '7 days'
        GROUP BY entity ORDER BY entity""")).all()
    lines += ["", "Mention changes by edits, last 7 days:", ""]
    if not changes:
        lines.append("none")
    for entity, added, removed, documents in changes:
        lines.append(f"- {entity}: +{added} / -{removed} in {documents} document(s)")
    return "\n".join(lines) + "\n"
