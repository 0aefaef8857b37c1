"""Session-taking writes. None of these commit: the caller owns the transaction.

Every write is idempotent (unique keys, ``ON CONFLICT``), so a retried task or two runs
in parallel never duplicate a document, version or mention. Versions of one document are
serialised by locking its ``document`` row (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import bindparam, delete, exists, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from hubwatch import contract
from hubwatch.config.sources import CATCH_ALL_SLUG, SourceConfig
from hubwatch.models import records
from hubwatch.models.schema import (
    Alias,
    AttachmentFile,
    Base,
    CrawlRun,
    Document,
    DocumentUrl,
    DocumentVersion,
    Entity,
    Mention,
    Snapshot,
    Source,
)

_WS = re.compile(r"\s+")


# -- statements of the write path ---------------------------------------------------------
# SQLAlchemy 2.0 gives the PostgreSQL dialect's INSERT ... ON CONFLICT no cache key, so
# such a statement is compiled again at every execution (a third of the writer's CPU per
# page when measured), and a multi-row VALUES is a new statement per row count. The
# write path's statements are therefore text with typed bind parameters, built and
# compiled once; many rows go in as arrays through unnest (one statement, any count).


@cache
def _insert_sql(table: str, columns: tuple[str, ...], tail: str = "") -> TextClause:
    """``INSERT INTO table (columns) VALUES (:column, ...) tail``, its parameters typed
    by the mapped columns (so JSON, arrays and times bind as the ORM would bind them).
    ``tail``: ``ON CONFLICT ...`` and/or ``RETURNING ...``. Cached per argument tuple."""
    mapped = Base.metadata.tables[table].c
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
           f"VALUES ({', '.join(':' + c for c in columns)}) {tail}")
    return text(sql).bindparams(*(bindparam(c, type_=mapped[c].type) for c in columns))


_URLS_INSERT = text("""
INSERT INTO document_url (url, document_id)
SELECT url, :document_id FROM unnest(CAST(:urls AS text[])) AS url
ON CONFLICT DO NOTHING""")

_MENTIONS_INSERT = text("""
INSERT INTO mention (version_id, entity_id, alias_id, surface, zone, start_offset, end_offset, sentence)
SELECT :version_id, * FROM unnest(CAST(:entity_ids AS integer[]), CAST(:alias_ids AS integer[]),
    CAST(:surfaces AS text[]), CAST(:zones AS text[]), CAST(:starts AS integer[]),
    CAST(:ends AS integer[]), CAST(:sentences AS text[]))
ON CONFLICT DO NOTHING""")

_MATCH_MARK = text("""
INSERT INTO version_match (version_id, watchlist_revision)
SELECT unnest(CAST(:version_ids AS bigint[])), :revision
ON CONFLICT (version_id) DO UPDATE
SET watchlist_revision = excluded.watchlist_revision, matched_at = now()
WHERE version_match.watchlist_revision <> excluded.watchlist_revision""")

_SNAPSHOT_LINK = text("""
UPDATE snapshot SET document_id = :document_id, version_id = :version_id, new_version = :new_version
WHERE id = :snapshot_id""")

_SNAPSHOT_OUTCOME = text("UPDATE snapshot SET outcome = :outcome, error_message = :error WHERE id = :snapshot_id")


def content_hash(title: str, main_text: str, record: str = "") -> str:
    """SHA-256 of the normalised title + main text (+ ``record``, the official-document
    record's fingerprint when the page has one): what decides a new version.

    Normalisation: Unicode NFC, whitespace runs folded to one space, trimmed, so that a
    re-flowed paragraph or a changed script/counter/ad (not part of the main text) never
    makes a version (an error or placeholder page is never hashed at all: it records no
    version, so a flapping server cannot alternate two versions).
    """
    parts = (title, main_text, record) if record else (title, main_text)  # old hashes stay valid
    norm = [_WS.sub(" ", unicodedata.normalize("NFC", part)).strip() for part in parts]
    return hashlib.sha256("\n".join(norm).encode("utf-8")).hexdigest()


# -- sources and watch-list ------------------------------------------------------------

def sync_sources(session: Session, sources: Iterable[SourceConfig]) -> dict[str, int]:
    """Upsert the configured sources and the catch-all; return ``{slug: id}``.

    A source missing from the file is kept (its documents refer to it) but set inactive.
    """
    sources = list(sources)
    rows = [dict(slug=s.slug, name=s.name, kind=s.kind, language=s.language,
                 timezone=s.timezone, active=s.active, allowed_hosts=s.allowed_hosts)
            for s in sources]
    rows.append(dict(slug=CATCH_ALL_SLUG, name="Pages of no configured source", kind="other",
                     language=None, timezone=contract.DEFAULT_TIMEZONE, active=False, allowed_hosts=[]))
    stmt = insert(Source).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Source.slug],
        set_={c: stmt.excluded[c] for c in ("name", "kind", "language", "timezone", "active",
                                             "allowed_hosts")} | {"updated_at": func.now()},
    )
    session.execute(stmt)
    known = [r["slug"] for r in rows]
    session.execute(update(Source).where(Source.slug.not_in(known)).values(active=False))
    return dict(session.execute(select(Source.slug, Source.id)).all())


@dataclass(frozen=True)
class AliasSpec:
    text: str
    language: str | None = None
    ambiguous: bool = False


@dataclass(frozen=True)
class EntitySpec:
    key: str
    name: str
    name_zh: str | None = None
    parent: str | None = None
    aliases: tuple[AliasSpec, ...] = field(default_factory=tuple)


def sync_entities(session: Session, entities: Sequence[EntitySpec]) -> dict[str, int]:
    """Upsert entities and aliases; deactivate those no longer listed. Returns ``{key: id}``.

    Nothing is deleted: stored mentions keep pointing at a deactivated alias until a
    reprocess removes them.
    """
    rows = [dict(key=e.key, name=e.name, name_zh=e.name_zh, active=True) for e in entities]
    if rows:
        stmt = insert(Entity).values(rows)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[Entity.key],
            set_={"name": stmt.excluded.name, "name_zh": stmt.excluded.name_zh, "active": True}))
    keys = [e.key for e in entities]
    session.execute(update(Entity).where(Entity.key.not_in(keys)).values(active=False))
    ids = dict(session.execute(select(Entity.key, Entity.id)).all())
    for e in entities:
        session.execute(update(Entity).where(Entity.key == e.key)
                        .values(parent_id=ids.get(e.parent) if e.parent else None))
    alias_rows = [dict(entity_id=ids[e.key], alias_text=a.text, language=a.language,
                       ambiguous=a.ambiguous, active=True) for e in entities for a in e.aliases]
    session.execute(update(Alias).values(active=False))
    if alias_rows:
        stmt = insert(Alias).values(alias_rows)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[Alias.entity_id, Alias.alias_text],
            set_={"language": stmt.excluded.language, "ambiguous": stmt.excluded.ambiguous,
                  "active": True}))
    return ids


def source_ids(session: Session) -> dict[str, int]:
    """``{slug: id}`` of every source row."""
    return dict(session.execute(select(Source.slug, Source.id)).all())


def entity_ids(session: Session) -> dict[str, int]:
    """``{entity key: id}`` of every entity row (as :func:`sync_entities` returns them)."""
    return dict(session.execute(select(Entity.key, Entity.id)).all())


def alias_ids(session: Session) -> dict[tuple[str, str], int]:
    """``{(entity key, alias text): alias id}`` for the active aliases."""
    rows = session.execute(select(Entity.key, Alias.alias_text, Alias.id)
                           .join(Entity, Entity.id == Alias.entity_id)
                           .where(Alias.active))
    return {(k, a): i for k, a, i in rows}


# -- crawl runs ----------------------------------------------------------------------

def start_run(session: Session, flow_name: str, parameters: dict,
              flow_run_id: str | None = None) -> int:
    """Create (or, for a retried flow run, find) the crawl_run row; return its id."""
    stmt = insert(CrawlRun).values(flow_name=flow_name, parameters=parameters,
                                   flow_run_id=flow_run_id)
    if flow_run_id is not None:
        stmt = stmt.on_conflict_do_update(index_elements=[CrawlRun.flow_run_id],
                                          set_={"run_status": "running", "ended_at": None})
    return session.execute(stmt.returning(CrawlRun.id)).scalar_one()


RUN_LOCK_SPACE = contract.RUN_LOCK_SPACE  # liveness locks: (space, run id)


def close_abandoned_runs(session: Session) -> int:
    """Mark ``running`` crawl runs whose process is gone as ``failed``; return how many.

    A run is alive while its liveness lock is held (see :func:`hubwatch.models.runs.open_run`); a lock
    this session can take belongs to nobody, so that run's process ended without closing
    it (SIGKILL, lost machine). Works across processes and machines sharing the database.
    """
    closed = 0
    running = session.execute(select(CrawlRun.id).where(CrawlRun.run_status == "running")).scalars()
    for run_id in list(running):
        key = {"space": RUN_LOCK_SPACE, "run": run_id}
        if session.execute(text("SELECT pg_try_advisory_lock(:space, :run)"), key).scalar():
            session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
                run_status="failed", ended_at=func.now(),
                error_message="abandoned: its process ended without closing the run"))
            session.execute(text("SELECT pg_advisory_unlock(:space, :run)"), key)
            closed += 1
    return closed


def last_completed_run(session: Session, flow_name: str) -> dt.datetime | None:
    """When the latest completed run of ``flow_name`` started (UTC), or None."""
    return session.execute(select(func.max(CrawlRun.started_at)).where(
        CrawlRun.flow_name == flow_name, CrawlRun.run_status == "completed")).scalar()


def finish_run(session: Session, run_id: int, status: str, counts: dict,
               error: str | None = None) -> None:
    """Close a crawl run with its status (``completed`` | ``failed``) and counts."""
    session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
        run_status=status, counts=counts, error_message=error, ended_at=func.now()))


# -- documents -------------------------------------------------------------------------

@dataclass(frozen=True)
class KnownDocument:
    id: int
    etag: str | None
    last_modified: str | None
    has_version: bool
    gone: bool = False
    next_check_at: dt.datetime | None = None  # UTC; None: due now


def find_document(session: Session, url: str) -> KnownDocument | None:
    """The document any of whose known URLs is ``url`` (its canonical URL is one of them:
    :func:`resolve_document` maps it), in one primary-key lookup."""
    has_version = exists().where(DocumentVersion.document_id == Document.id)
    row = session.execute(
        select(Document.id, Document.etag, Document.last_modified, has_version.label("v"),
               Document.gone_at, Document.next_check_at)
        .join(DocumentUrl, DocumentUrl.document_id == Document.id)
        .where(DocumentUrl.url == url)).first()
    return KnownDocument(row.id, row.etag, row.last_modified, row.v, row.gone_at is not None,
                         row.next_check_at) if row else None


def current_hash_of(session: Session, canonical_url: str) -> tuple[int, str | None] | None:
    """``(document id, current content hash)`` of the document at ``canonical_url``."""
    row = session.execute(
        select(Document.id, DocumentVersion.content_hash)
        .join(DocumentVersion, (DocumentVersion.document_id == Document.id)
              & DocumentVersion.valid_to.is_(None), isouter=True)
        .where(Document.canonical_url == canonical_url)).first()
    return (row[0], row[1]) if row else None


def resolve_document(session: Session, *, canonical_url: str, urls: Iterable[str],
                     source_id: int, seen_at: dt.datetime,
                     created_values: dict | None = None) -> tuple[int, bool]:
    """``(id, created)`` of the document for ``canonical_url``, created if new; ``urls``
    (and the canonical URL itself) map to it.

    ``created_values``: more ``document`` columns (``last_fetched_at``, ``etag``,
    ``next_check_at``...) set only when the document is created here, so that a new
    document needs no update after its insert. A URL already mapped to another document
    keeps its mapping (first writer wins).
    """
    values = dict(canonical_url=canonical_url, source_id=source_id, first_seen_at=seen_at,
                  **(created_values or {}))
    stmt = _insert_sql("document", tuple(values), "ON CONFLICT (canonical_url) DO NOTHING RETURNING id")
    doc_id = session.execute(stmt, values).scalar_one_or_none()
    created = doc_id is not None
    if not created:
        doc_id = session.execute(select(Document.id).where(
            Document.canonical_url == canonical_url)).scalar_one()
        # An archive imported out of order may show an earlier sighting.
        session.execute(update(Document).where(Document.id == doc_id,
                                               Document.first_seen_at > seen_at)
                        .values(first_seen_at=seen_at))
    # Sorted: concurrent writers lock overlapping URL keys in one order (no deadlock).
    session.execute(_URLS_INSERT, {"document_id": doc_id, "urls": sorted({canonical_url, *urls})})
    return doc_id, created


def touch_document(session: Session, doc_id: int, *, fetched_at: dt.datetime,
                   etag: str | None = None, last_modified: str | None = None,
                   gone: bool = False, available: bool = False) -> None:
    """Record a fetch of the document: last fetch time, validators, gone or back.

    ``gone``: 404/410 at ``fetched_at``; ``available``: a successful fetch. Either way
    ``gone_at`` is then what :func:`settle_gone` derives from all the document's
    captures, so captures stored in any order (archives) give the same answer.
    """
    doc = Document.__table__.c
    values: dict = {"last_fetched_at": func.greatest(doc.last_fetched_at, fetched_at)}
    if available:
        if etag or last_modified:  # a 304 may omit them: keep the stored validators
            values |= {"etag": etag, "last_modified": last_modified}
        session.execute(update(Document).where(doc.id == doc_id,
                                               (doc.last_fetched_at.is_(None))
                                               | (doc.last_fetched_at <= fetched_at))
                        .values(**values))
    else:
        session.execute(update(Document).where(doc.id == doc_id).values(**values))
    if gone or available:
        settle_gone(session, doc_id, only_if_set=not gone)


_SETTLE_GONE = text("""
UPDATE document d SET gone_at = (
    SELECT min(g.fetched_at) FROM snapshot g
    WHERE g.document_id = d.id AND g.outcome = 'gone' AND g.fetched_at > COALESCE(
        (SELECT max(ok.fetched_at) FROM snapshot ok
         WHERE ok.document_id = d.id AND ok.outcome IN ('ok', 'not_modified')),
        '-infinity'::timestamptz))
WHERE d.id = :doc_id
""")


def settle_gone(session: Session, doc_id: int, *, only_if_set: bool = False) -> None:
    """Set ``document.gone_at`` from the document's snapshots, as capture order implies:
    the first 404/410 after its latest successful fetch (``ok``, ``not_modified``), NULL
    when no 404/410 follows that fetch. ``only_if_set``: skip a document not gone (the
    common case for a successful fetch: no snapshot is read)."""
    stmt = _SETTLE_GONE
    if only_if_set:
        stmt = text(str(stmt) + " AND d.gone_at IS NOT NULL")
    session.execute(stmt, {"doc_id": doc_id})


def adopt_snapshots(session: Session, doc_id: int) -> int:
    """Link to ``doc_id`` the page snapshots of its URLs that no document had yet (a 404
    archived before the page's first 200, imported first), then settle its ``gone_at``.
    Returns how many were linked. Reads the partial index on unlinked snapshots only."""
    adopted = session.execute(text("""
UPDATE snapshot sn SET document_id = u.document_id
FROM document_url u
WHERE u.document_id = :doc_id AND sn.requested_url = u.url
  AND sn.document_id IS NULL AND sn.purpose = 'page'
"""), {"doc_id": doc_id}).rowcount
    if adopted:
        settle_gone(session, doc_id)
    return adopted


# -- recheck schedule ------------------------------------------------------------------

@dataclass(frozen=True)
class DocumentTimes:
    """What the recheck schedule needs of a document (UTC): first seen, latest fetch, when
    its current content was first captured (None: no version), and whether it is gone."""

    canonical_url: str
    first_seen_at: dt.datetime
    last_fetched_at: dt.datetime | None
    last_changed_at: dt.datetime | None
    gone: bool


def document_times(session: Session, doc_id: int) -> DocumentTimes:
    """The times of ``doc_id`` for :func:`set_next_check` (one indexed lookup)."""
    V = DocumentVersion
    changed = (select(V.valid_from).where(V.document_id == Document.id, V.valid_to.is_(None))
               .scalar_subquery())
    row = session.execute(select(Document.canonical_url, Document.first_seen_at,
                                 Document.last_fetched_at, changed.label("changed"),
                                 Document.gone_at).where(Document.id == doc_id)).one()
    return DocumentTimes(row.canonical_url, row.first_seen_at, row.last_fetched_at, row.changed,
                         row.gone_at is not None)


def set_next_check(session: Session, doc_id: int, at: dt.datetime | None) -> None:
    """Store when the recheck schedule fetches ``doc_id`` next (None: not scheduled)."""
    session.execute(update(Document).where(Document.id == doc_id).values(next_check_at=at))


@dataclass(frozen=True)
class DueDocument:
    id: int
    url: str
    next_check_at: dt.datetime | None


def due_documents(session: Session, source_id: int, due_before: dt.datetime,
                  limit: int) -> list[DueDocument]:
    """Up to ``limit`` documents of a source that are not gone and whose next check is
    before ``due_before`` (or never set), most overdue first (``ix_document_due``)."""
    rows = session.execute(
        select(Document.id, Document.canonical_url, Document.next_check_at)
        .where(Document.source_id == source_id, Document.gone_at.is_(None),
               (Document.next_check_at.is_(None)) | (Document.next_check_at < due_before))
        .order_by(Document.next_check_at.asc().nulls_first(), Document.id)
        .limit(limit))
    return [DueDocument(r.id, r.canonical_url, r.next_check_at) for r in rows]


# -- snapshots -----------------------------------------------------------------------

def record_snapshot(session: Session, **values) -> int | None:
    """Insert one snapshot row; return its id, or None if this archived fetch was stored
    before (``via='warc'`` rows are unique on URL + capture time)."""
    conflict = ("ON CONFLICT (requested_url, fetched_at) WHERE via = 'warc' DO NOTHING "
                if values.get("via") == "warc" else "")
    stmt = _insert_sql("snapshot", tuple(values), conflict + "RETURNING id")
    return session.execute(stmt, values).scalar_one_or_none()


def set_snapshot_outcome(session: Session, snapshot_id: int, outcome: str, error: str) -> None:
    """Correct a snapshot's outcome once the body was read (e.g. ``decode_error``)."""
    session.execute(_SNAPSHOT_OUTCOME, {"snapshot_id": snapshot_id, "outcome": str(outcome),
                                        "error": error[:2000]})


def link_snapshot(session: Session, snapshot_id: int, *, document_id: int | None,
                  version_id: int | None = None) -> None:
    session.execute(_SNAPSHOT_LINK, {"snapshot_id": snapshot_id, "document_id": document_id,
                                     "version_id": version_id, "new_version": version_id is not None})


# -- versions ------------------------------------------------------------------------

@dataclass
class VersionInput:
    """Everything a new version stores (derived fields from the extractor)."""

    captured_at: dt.datetime
    final_url: str
    canonical_url: str
    content_type: str | None
    raw_body: bytes
    encoding: str | None
    title: str
    main_text: str
    published_at: dt.datetime | None
    published_precision: str | None
    author: str | None
    language: str | None
    extractor_version: str


def add_version(session: Session, doc_id: int, data: VersionInput,
                mentions: Sequence[records.Mention], entity_ids: dict[str, int],
                alias_id_map: dict[tuple[str, str], int], watchlist_revision: str,
                policy: dict | None = None, attachment: dict | None = None,
                new_document: bool = False) -> int | None:
    """Store ``data`` as a new version of ``doc_id`` if its content differs from the version
    valid at ``data.captured_at``; return the new version id or None.

    Captures may arrive out of order (archives): the version is slotted into the timeline
    by capture time, the neighbours' ``valid_to``/``valid_from`` are adjusted, and version
    numbers are renumbered in capture-time order. A later version with the same content
    is extended back to this capture instead of duplicated.

    ``policy``: the official-document record (``policy_record`` columns) of the page,
    stored with the new version; it is part of the content, so a changed block alone
    makes a new version. ``attachment``: for a file linked from a page, the
    ``attachment_file`` columns (file_type, link_text, page_count, bytes) of this version.
    ``new_document``: ``doc_id`` was created in this transaction (no other writer sees it
    and it has no versions yet): the version is its first, stored without any lookup.
    """
    digest = content_hash(data.title, data.main_text, policy_fingerprint(policy))
    if new_document:
        return _insert_version(session, doc_id, data, digest, 1, None, mentions, entity_ids,
                               alias_id_map, watchlist_revision, policy, attachment)
    session.execute(select(Document.id).where(Document.id == doc_id).with_for_update())
    at = data.captured_at
    V = DocumentVersion
    before = session.execute(select(V.id, V.content_hash, V.valid_from).where(
        V.document_id == doc_id, V.valid_from <= at).order_by(V.valid_from.desc()).limit(1)).first()
    if before is not None and (before.content_hash == digest or before.valid_from == at):
        return None  # same content, or this very capture was stored already
    after = session.execute(select(V.id, V.content_hash, V.valid_from).where(
        V.document_id == doc_id, V.valid_from > at).order_by(V.valid_from).limit(1)).first()
    if after is not None and after.content_hash == digest:
        session.execute(update(V).where(V.id == after.id).values(valid_from=at, captured_at=at))
        if before is not None:
            session.execute(update(V).where(V.id == before.id).values(valid_to=at))
        return None
    if before is not None:
        session.execute(update(V).where(V.id == before.id).values(valid_to=at))
    next_no = session.execute(select(func.coalesce(func.max(V.version_no), 0) + 1)
                              .where(V.document_id == doc_id)).scalar_one()
    version_id = _insert_version(session, doc_id, data, digest, next_no,
                                 after.valid_from if after is not None else None, mentions,
                                 entity_ids, alias_id_map, watchlist_revision, policy, attachment)
    if after is not None:  # slotted into the past: keep numbers in capture-time order
        _renumber(session, doc_id)
    return version_id


def _insert_version(session: Session, doc_id: int, data: VersionInput, digest: str, number: int,
                    valid_to: dt.datetime | None, mentions: Sequence[records.Mention],
                    entity_ids: dict[str, int], alias_id_map: dict[tuple[str, str], int],
                    watchlist_revision: str, policy: dict | None, attachment: dict | None) -> int:
    """The version row and what hangs on it: mentions, match mark, record, file."""
    values = dict(document_id=doc_id, version_no=number, valid_from=data.captured_at, valid_to=valid_to,
                  content_hash=digest, **vars(data))
    version_id = session.execute(_insert_sql("document_version", tuple(values), "RETURNING id"),
                                 values).scalar_one()
    insert_mentions(session, version_id, mentions, entity_ids, alias_id_map)
    mark_matched(session, [version_id], watchlist_revision)
    if policy is not None:
        put_policy(session, version_id, policy)
    if attachment is not None:
        session.execute(insert(AttachmentFile).values(version_id=version_id, **attachment)
                        .on_conflict_do_nothing())
    return version_id


def set_attachment_of(session: Session, doc_id: int, parent_id: int) -> None:
    """Record that ``doc_id`` is a file linked from the page ``parent_id`` (the first
    page seen linking it keeps it)."""
    session.execute(update(Document).where(Document.id == doc_id, Document.attachment_of.is_(None),
                                           Document.id != parent_id)
                    .values(attachment_of=parent_id))


@dataclass(frozen=True)
class KnownAttachment:
    url: str
    etag: str | None
    last_modified: str | None
    file_type: str | None
    link_text: str | None


def attachments_of(session: Session, parent_id: int) -> list[KnownAttachment]:
    """The attachment documents of a page, with what a conditional fetch needs and the
    file type and link text of their current version."""
    rows = session.execute(text(
        "SELECT d.canonical_url, d.etag, d.last_modified, f.file_type, f.link_text"
        " FROM document d"
        " LEFT JOIN document_version v ON v.document_id = d.id AND v.valid_to IS NULL"
        " LEFT JOIN attachment_file f ON f.version_id = v.id"
        " WHERE d.attachment_of = :p ORDER BY d.id"), {"p": parent_id})
    return [KnownAttachment(*row) for row in rows]


POLICY_COLUMNS = ("issuing_bodies", "document_number", "source_organ", "document_type", "topic",
                  "written_on", "published_on", "index_number", "validity")


def policy_fingerprint(policy: dict | None) -> str:
    """The record as one stable string for the version hash ("" without a record)."""
    if policy is None:
        return ""
    return "\x1f".join(str(policy.get(key) or "") for key in POLICY_COLUMNS)


def put_policy(session: Session, version_id: int, policy: dict) -> None:
    """Store (or replace, on a re-extract) the official-document record of a version.
    ``policy``: the ``policy_record`` columns; dates as ``datetime.date``."""
    values = {key: policy.get(key) for key in POLICY_COLUMNS}
    values["issuing_bodies"] = list(values["issuing_bodies"] or [])
    values["topic"] = list(values["topic"] or [])
    columns = ("version_id", *POLICY_COLUMNS)
    update_set = ", ".join(f"{c} = excluded.{c}" for c in POLICY_COLUMNS)
    stmt = _insert_sql("policy_record", columns, f"ON CONFLICT (version_id) DO UPDATE SET {update_set}")
    session.execute(stmt, {"version_id": version_id, **values})


def mark_matched(session: Session, version_ids: Sequence[int], revision: str) -> int:
    """Record that these versions' mentions are those of watch-list ``revision``; rows
    already at that revision are left alone. Returns how many marks moved."""
    if not version_ids:
        return 0
    return session.execute(_MATCH_MARK, {"version_ids": list(version_ids), "revision": revision}).rowcount


def _renumber(session: Session, doc_id: int) -> None:
    session.execute(text(
        "UPDATE document_version v SET version_no = o.n FROM ("
        " SELECT id, row_number() OVER (ORDER BY valid_from) AS n"
        " FROM document_version WHERE document_id = :d) o"
        " WHERE v.id = o.id AND v.version_no <> o.n"), {"d": doc_id})


# -- reprocessing ------------------------------------------------------------------------

#: Version columns that extraction derives (re-extraction may rewrite them).
DERIVED_COLUMNS = ("title", "main_text", "published_at", "published_precision", "author",
                   "language", "encoding", "content_hash", "extractor_version")


def versions_after(session: Session, after_id: int, limit: int, *,
                   captured_since: dt.datetime | None = None, with_body: bool = False) -> list:
    """The next ``limit`` versions by id after ``after_id`` (keyset paging), captured at or
    after ``captured_since`` (aware) when given. Rows have ``id, title, main_text``; with
    ``with_body`` also the raw body, final URL, content type, capture time, the source's
    time zone and every derived column; ``attachment_of`` tells a file's versions apart."""
    V = DocumentVersion
    cols = [V.id, V.title, V.main_text, Document.attachment_of]
    if with_body:
        cols += [V.raw_body, V.final_url, V.content_type, V.captured_at, Source.timezone,
                 *(getattr(V, c) for c in DERIVED_COLUMNS if c not in ("title", "main_text"))]
    query = (select(*cols).join(Document, Document.id == V.document_id)
             .join(Source, Source.id == Document.source_id)
             .where(V.id > after_id).order_by(V.id).limit(limit))
    if captured_since is not None:
        query = query.where(V.captured_at >= captured_since)
    return list(session.execute(query).all())


def update_version(session: Session, version_id: int, changed: dict) -> None:
    """Rewrite derived columns of one version in place (nothing when ``changed`` is empty)."""
    if changed:
        unknown = set(changed) - set(DERIVED_COLUMNS)
        if unknown:
            raise ValueError(f"not derived columns: {sorted(unknown)}")
        session.execute(update(DocumentVersion).where(DocumentVersion.id == version_id).values(**changed))


def mention_key(m: records.Mention) -> tuple:
    """What makes a mention the same mention: ``(entity, zone, start, end, surface)``."""
    return (m.entity, m.zone, m.start, m.end, m.surface)


def mention_keys(session: Session, version_ids: list[int]) -> dict[int, set[tuple]]:
    """``{version id: {mention_key, ...}}`` of the stored mentions of those versions."""
    out: dict[int, set] = {}
    rows = session.execute(
        select(Mention.version_id, Entity.key, Mention.zone, Mention.start_offset,
               Mention.end_offset, Mention.surface)
        .join(Entity, Entity.id == Mention.entity_id).where(Mention.version_id.in_(version_ids)))
    for vid, *key in rows:
        out.setdefault(vid, set()).add(tuple(key))
    return out


def replace_mentions(session: Session, version_id: int, mentions: Sequence[records.Mention],
                     entity_ids: dict[str, int], alias_id_map: dict[tuple[str, str], int]) -> None:
    """Replace every stored mention of one version by ``mentions``."""
    session.execute(delete(Mention).where(Mention.version_id == version_id))
    insert_mentions(session, version_id, mentions, entity_ids, alias_id_map)


def insert_mentions(session: Session, version_id: int, mentions: Sequence[records.Mention],
                    entity_ids: dict[str, int], alias_id_map: dict[tuple[str, str], int]) -> int:
    """Insert mention rows for a version (duplicates ignored); return how many were given.

    One statement whatever the count: the columns go as arrays through ``unnest`` (a
    multi-row VALUES binds 8 parameters per row, and PostgreSQL allows 65,535 per
    statement, so a page with 8,192 mentions or more once failed as a whole)."""
    kept = [m for m in mentions if m.entity in entity_ids]
    if not kept:
        return 0
    session.execute(_MENTIONS_INSERT, {
        "version_id": version_id, "entity_ids": [entity_ids[m.entity] for m in kept],
        "alias_ids": [alias_id_map.get((m.entity, m.alias)) for m in kept],
        "surfaces": [m.surface for m in kept], "zones": [m.zone for m in kept],
        "starts": [m.start for m in kept], "ends": [m.end for m in kept],
        "sentences": [m.sentence for m in kept]})
    return len(kept)


def archived_captures(session: Session, captures: Sequence[tuple[str, dt.datetime]]
                      ) -> set[tuple[str, dt.datetime]]:
    """Which of ``captures`` (requested URL, capture time; aware) are stored already as
    archived snapshots (``via='warc'``), in one query on ``uq_snapshot_archived``."""
    if not captures:
        return set()
    S = Snapshot
    rows = session.execute(select(S.requested_url, S.fetched_at).where(
        S.via == "warc", tuple_(S.requested_url, S.fetched_at).in_(list(captures))))
    return {(url, at) for url, at in rows}
