"""SQL helpers for the analyst's views (migration 0003; guide: docs/analyst.md).

Public API:

* ``refresh_analytics(session)``: bring the maintained views up to date with what the
  run changed (queued by the database's triggers); call it at the end of every flow run
  that writes (nightly, ingest, import-warc, reprocess). ``full=True`` recomputes all.
* ``queued_documents(session)``: the documents changed since the last upkeep.
* ``documents_as_of(session, ts)``: the corpus as it stood at ``ts``.
* ``search_english(session, query)``, ``search_chinese(session, needle)``: search the
  current text with the two GIN indexes.
* ``weekly_counts(session, weeks)``, ``weekly_summary_markdown(session, weeks)``: the
  weekly trend the report and the nightly's artifact show.
* ``ANALYST_VIEWS``, ``MAINTAINED_VIEWS`` (alias ``MATERIALIZED_VIEWS``): the public
  relations, for exports and tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from hubwatch.contract import ANALYTICS_LOCK_KEY
from hubwatch.models import locks
from hubwatch.models.schema import DocumentVersion

#: The analyst views kept current per changed document (migration 0012: plain views over
#: summary tables; until then materialised views, hence the older name below).
MAINTAINED_VIEWS = ("document_entities", "mention_daily", "hub_daily", "co_mentions",
                    "mention_changes")
#: Former name of :data:`MAINTAINED_VIEWS`, kept for callers (exports, tests).
MATERIALIZED_VIEWS = MAINTAINED_VIEWS
ANALYST_VIEWS = ("current_documents", "current_mentions", "entities", "document_history",
                 "version_changes", "version_diffs", "source_health", "policy_documents",
                 "attachments", *MAINTAINED_VIEWS)
ANALYST_ROLE = "hubwatch_analyst"

#: When at least this share of the documents is queued, one upkeep recomputes everything
#: instead (measured on the seeded 150,000-document database under load: about 0.6 ms a
#: document one by one for 20,000 documents, a rebuild about 0.6 ms per document of the
#: corpus).
FULL_REBUILD_SHARE = 0.5
_FEW_DOCUMENTS = 10_000  # below this, one by one whatever the share (a few seconds at most)

# Chinese substring search needs three characters: pg_trgm indexes trigrams.
MIN_TRIGRAM_CHARS = 3


SEARCH_INDEXES = tuple(ix for ix in DocumentVersion.__table__.indexes
                       if ix.name in ("ix_document_version_fts_en", "ix_document_version_text_trgm"))

_CLAIM = text("""
    WITH claimed AS (DELETE FROM analytics_queue RETURNING document_id)
    SELECT DISTINCT document_id FROM claimed ORDER BY document_id""")


def _rebuild_pays(session: Session, queued: int) -> bool:
    if queued < _FEW_DOCUMENTS:
        return False
    corpus = session.execute(text(  # the planner's estimate: no scan
        "SELECT reltuples FROM pg_class WHERE oid = 'document'::regclass")).scalar()
    return queued >= FULL_REBUILD_SHARE * (corpus or 0)


def refresh_analytics(session: Session, *, full: bool = False, concurrently: bool = True,
                      on_claimed: Callable[[list[int] | None], object] | None = None) -> int:
    """Bring the maintained views (:data:`MAINTAINED_VIEWS`) up to date with the tables.

    The database's triggers queue every document whose rows those views read changed
    (``analytics_queue``, migration 0012); this recomputes the summary rows of the queued
    documents and of the days they are counted on, and empties the queue. Nothing queued:
    nothing is done (no lock, no write).

    Args:
        session: an open session in a READ COMMITTED transaction; the caller commits
            (readers see the previous rows until then). Upkeepers take turns on one
            advisory lock held to the end of the transaction, so concurrent runs neither
            double count nor deadlock.
        full: recompute every summary from the base tables (repair, ``hubwatch db
            refresh-analytics --full``); also chosen when the queue holds
            :data:`FULL_REBUILD_SHARE` of the documents or more.
        concurrently: ignored; kept for callers of the materialised-view refresh.
        on_claimed: called in the transaction, under the lock, with the ids of the
            documents taken from the queue (None on a full rebuild: every document)
            before their rows are recomputed: a run computes their sentence diffs there,
            so documents another run wrote and this upkeep took are not missed.

    Returns:
        How many documents were recomputed.

    Raises:
        RuntimeError: the transaction is not READ COMMITTED (a snapshot older than the
            lock would miss the previous upkeeper's rows).
        hubwatch.models.locks.LockBusy: another session held the lock past the wait.
    """
    del concurrently
    if not full and not session.execute(text("SELECT EXISTS (SELECT FROM analytics_queue)")).scalar():
        return 0
    level = session.execute(text("SHOW transaction_isolation")).scalar()
    if level != "read committed":
        raise RuntimeError(f"refresh_analytics needs a READ COMMITTED transaction, not {level}")
    locks.acquire(session, ANALYTICS_LOCK_KEY, what="analytics upkeep", xact=True)
    ids = None if full else session.execute(_CLAIM).scalars().all()
    if ids is not None and _rebuild_pays(session, len(ids)):
        ids = None
    if on_claimed is not None:
        on_claimed(ids)
    if ids is None:
        return session.execute(text("SELECT analytics_rebuild()")).scalar_one()
    if ids:
        session.execute(text("SELECT analytics_refresh_documents(CAST(:ids AS bigint[]))"),
                        {"ids": ids})
    return len(ids)


def queued_documents(session: Session) -> list[int]:
    """Ids of the documents whose analytics rows wait for the next upkeep (changed by
    committed writes, or by this transaction's), ascending."""
    return session.execute(text(
        "SELECT DISTINCT document_id FROM analytics_queue ORDER BY 1")).scalars().all()


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
    the watch-list (from ``mention_daily``: as of the last upkeep, the end of the last run).
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
