"""Session-taking reads and writes of ``version_diff`` (the rows behind the view
``version_diffs``). None of these commit: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hubwatch.models.schema import VersionDiff


@dataclass(frozen=True)
class VersionPair:
    """A version and the one before it (by ``valid_from``), with both texts and hashes."""

    version_id: int
    previous_version_id: int
    version_hash: str
    previous_hash: str
    text: str
    previous_text: str


# Each version's previous one by valid_from, whatever order the captures were imported
# in; a pair is pending when no row was computed for exactly these two texts.
_PENDING = """
WITH pairs AS (
    SELECT v.id AS version_id, v.content_hash AS version_hash,
           lag(v.id) OVER w AS previous_version_id,
           lag(v.content_hash) OVER w AS previous_hash
    FROM document_version v {documents}
    WINDOW w AS (PARTITION BY v.document_id ORDER BY v.valid_from)
)
SELECT p.version_id, p.previous_version_id, p.version_hash, p.previous_hash
FROM pairs p
LEFT JOIN version_diff vd ON vd.version_id = p.version_id
WHERE p.previous_version_id IS NOT NULL
  AND (vd.version_id IS NULL OR vd.previous_version_id <> p.previous_version_id
       OR vd.version_hash <> p.version_hash OR vd.previous_hash <> p.previous_hash)
ORDER BY p.version_id
LIMIT :limit
"""


def pending_pairs(session: Session, limit: int = 500, *,
                  documents: Sequence[int] | None = None) -> list[VersionPair]:
    """Up to ``limit`` version pairs whose diff is missing or stale, oldest id first; of
    ``documents`` only (ids) when given, else of the whole corpus (a scan of every version)."""
    where = "" if documents is None else "WHERE v.document_id = ANY(CAST(:documents AS bigint[]))"
    heads = session.execute(text(_PENDING.format(documents=where)),
                            {"limit": limit, "documents": list(documents or ())}).all()
    if not heads:
        return []
    ids = {i for h in heads for i in (h.version_id, h.previous_version_id)}
    texts = dict(session.execute(text(
        "SELECT id, main_text FROM document_version WHERE id = ANY(:ids)"), {"ids": list(ids)}).all())
    return [VersionPair(h.version_id, h.previous_version_id, h.version_hash, h.previous_hash,
                        texts[h.version_id], texts[h.previous_version_id]) for h in heads]


def save_diff(session: Session, pair: VersionPair, added: Sequence[str],
              removed: Sequence[str]) -> None:
    """Store (or replace) the diff of ``pair``: idempotent on ``version_id``."""
    values = dict(version_id=pair.version_id, previous_version_id=pair.previous_version_id,
                  version_hash=pair.version_hash, previous_hash=pair.previous_hash,
                  sentences_added=list(added), sentences_removed=list(removed))
    stmt = insert(VersionDiff).values(**values)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[VersionDiff.version_id],
        set_={k: stmt.excluded[k] for k in values if k != "version_id"}
        | {"computed_at": text("now()")}))


def versions_of(session: Session, document: str) -> list[dict]:
    """Every version of a document named by id or by a URL it was seen under (canonical
    or not), oldest first: ``document_id, url, version_id, version_no, valid_from,
    title, text``. Empty when no document matches."""
    where = "d.id = :id" if document.isdigit() else (
        "d.id = (SELECT du.document_id FROM document_url du WHERE du.url = :u "
        "UNION SELECT d2.id FROM document d2 WHERE d2.canonical_url = :u LIMIT 1)")
    rows = session.execute(text(f"""
        SELECT d.id AS document_id, d.canonical_url AS url, v.id AS version_id, v.version_no,
               v.valid_from, v.title, v.main_text AS text
        FROM document d JOIN document_version v ON v.document_id = d.id
        WHERE {where} ORDER BY v.valid_from"""),
        {"id": int(document) if document.isdigit() else None, "u": document})
    return [dict(r) for r in rows.mappings()]


def mention_counts(session: Session, version_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """``{version_id: {entity: mentions}}`` for the given versions (title and body)."""
    counts: dict[int, dict[str, int]] = {v: {} for v in version_ids}
    for version_id, entity, n in session.execute(text("""
            SELECT m.version_id, e.key, count(*)::int FROM mention m
            JOIN entity e ON e.id = m.entity_id
            WHERE m.version_id = ANY(:ids) GROUP BY 1, 2"""), {"ids": list(version_ids)}):
        counts[version_id][entity] = n
    return counts
