"""Reprocess stored versions without refetching: re-match mentions after a watch-list
change and, with ``extract``, re-extract from the stored raw body after an extractor change.

Rules (issue 4): every version, current and superseded, is brought up to date, one
transaction per batch; a version whose mention set does not change is not rewritten (only
its ``version_match.watchlist_revision`` mark moves); re-extraction rewrites derived fields in place (raw body
and capture time never change); versions are never merged or deleted.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from hubwatch.text.extract import EXTRACTOR_VERSION, ExtractError, parse_page
from hubwatch.models import store
from hubwatch.models.schema import Document, DocumentVersion, Entity, Mention, Source

BATCH = 500


@dataclass
class ReprocessReport:
    versions_seen: int = 0
    versions_rewritten: int = 0
    versions_reextracted: int = 0
    extract_errors: int = 0
    added: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"versions_seen": self.versions_seen, "versions_rewritten": self.versions_rewritten,
                "versions_reextracted": self.versions_reextracted,
                "extract_errors": self.extract_errors, "mentions_added": dict(self.added),
                "mentions_removed": dict(self.removed)}


def reprocess_versions(sessions: sessionmaker[Session], pipeline, *, extract: bool = False,
                       since: dt.date | None = None, batch_size: int = BATCH) -> ReprocessReport:
    """Re-match (and optionally re-extract) every stored version captured on or after
    ``since`` (a date in Asia/Shanghai; None: all). ``pipeline`` supplies the matcher and
    the entity/alias ids of the synced watch-list. Returns per-entity added/removed counts.
    """
    report = ReprocessReport()
    after_id = 0
    start = (dt.datetime.combine(since, dt.time(), ZoneInfo("Asia/Shanghai")) if since else None)
    while True:
        with sessions.begin() as session:
            rows = _batch(session, after_id, batch_size, start, extract)
            if not rows:
                break
            after_id = rows[-1].id
            _process(session, rows, pipeline, extract, report)
    return report


def _batch(session: Session, after_id: int, size: int, start, extract: bool):
    V = DocumentVersion
    cols = [V.id, V.title, V.main_text]
    if extract:
        cols += [V.raw_body, V.final_url, V.content_type, V.captured_at, Source.timezone,
                 *(getattr(V, f) for f in _DERIVED if f not in ("title", "main_text"))]
    query = (select(*cols).join(Document, Document.id == V.document_id)
             .join(Source, Source.id == Document.source_id)
             .where(V.id > after_id).order_by(V.id).limit(size))
    if start is not None:
        query = query.where(V.captured_at >= start)
    return session.execute(query).all()


def _process(session: Session, rows, pipeline, extract: bool, report: ReprocessReport) -> None:
    stored = _stored_mentions(session, [r.id for r in rows])
    revision = pipeline.matcher.revision
    for row in rows:
        report.versions_seen += 1
        title, body = row.title, row.main_text
        if extract:
            fields = _reextract(row)
            if fields is None:
                report.extract_errors += 1
            else:
                # Rewrite only what changed: a wide-row update also rewrites the row's
                # full-text and trigram index entries, which costs more than extraction.
                changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
                if changed:
                    session.execute(update(DocumentVersion).where(DocumentVersion.id == row.id)
                                    .values(**changed))
                title, body = fields["title"], fields["main_text"]
                report.versions_reextracted += 1
        found = pipeline.matcher.find(title, body)
        new = {(m.entity, m.zone, m.start, m.end, m.surface): m for m in found}
        old = stored.get(row.id, set())
        if set(new) != old:
            _rewrite(session, row.id, new, pipeline)
            report.versions_rewritten += 1
            report.added.update(k[0] for k in set(new) - old)
            report.removed.update(k[0] for k in old - set(new))
    store.mark_matched(session, [r.id for r in rows], revision)


def _stored_mentions(session: Session, version_ids: list[int]) -> dict[int, set]:
    out: dict[int, set] = {}
    rows = session.execute(
        select(Mention.version_id, Entity.key, Mention.zone, Mention.start_offset,
               Mention.end_offset, Mention.surface)
        .join(Entity, Entity.id == Mention.entity_id).where(Mention.version_id.in_(version_ids)))
    for vid, *key in rows:
        out.setdefault(vid, set()).add(tuple(key))
    return out


def _rewrite(session: Session, version_id: int, new: dict, pipeline) -> None:
    from hubwatch.pipeline.ingest import _row

    session.execute(delete(Mention).where(Mention.version_id == version_id))
    store.insert_mentions(session, version_id, [_row(m) for m in new.values()],
                          pipeline.entity_ids, pipeline.alias_ids)


_DERIVED = ("title", "main_text", "published_at", "published_precision", "author", "language",
            "content_hash", "extractor_version")


def _reextract(row) -> dict | None:
    try:
        page = parse_page(row.raw_body, url=row.final_url, content_type=row.content_type,
                          fetched_at=row.captured_at, site_timezone=row.timezone)
    except ExtractError:
        return None
    return dict(title=page.title, main_text=page.text, published_at=page.published_at,
                published_precision=page.published_precision, author=page.author,
                language=page.language, content_hash=store.content_hash(page.title, page.text),
                extractor_version=EXTRACTOR_VERSION)

