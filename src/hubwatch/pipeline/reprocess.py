"""Reprocess stored versions without refetching: re-match mentions after a watch-list
change and, with ``extract``, re-extract from the stored raw body after an extractor change.

Rules: every version, current and superseded, is brought up to date, one transaction per
batch; a version whose mention set does not change is not rewritten (only its
``version_match.watchlist_revision`` mark moves); re-extraction rewrites derived fields in
place (raw body and capture time never change); versions are never merged or deleted.

Extraction and matching run in the pipeline's parse workers (``HUBWATCH_PARSE_WORKERS``
at once, under their deadline and memory limit); the parent only writes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from hubwatch.contract import DEFAULT_TIMEZONE
from hubwatch.models import store
from hubwatch.outcomes import Outcome
from hubwatch.pipeline.ingest import page_fields
from hubwatch.text.extract import ExtractError, require_text

BATCH = 500


@dataclass
class ReprocessReport:
    versions_seen: int = 0
    versions_rewritten: int = 0
    versions_reextracted: int = 0
    extract_errors: int = 0
    kept_without_text: int = 0
    added: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"versions_seen": self.versions_seen, "versions_rewritten": self.versions_rewritten,
                "versions_reextracted": self.versions_reextracted,
                "extract_errors": self.extract_errors, "kept_without_text": self.kept_without_text,
                "mentions_added": dict(self.added),
                "mentions_removed": dict(self.removed)}


def reprocess_versions(sessions: sessionmaker[Session], pipeline, *, extract: bool = False,
                       since: dt.date | None = None, batch_size: int = BATCH) -> ReprocessReport:
    """Re-match (and optionally re-extract) every stored version captured on or after
    ``since`` (a date in Asia/Shanghai; None: all). ``pipeline`` supplies the matcher and
    the entity/alias ids of the synced watch-list. Returns per-entity added/removed counts.
    One transaction per batch of ``batch_size`` versions.
    """
    report = ReprocessReport()
    after_id = 0
    start = (dt.datetime.combine(since, dt.time(), ZoneInfo(DEFAULT_TIMEZONE)) if since else None)
    while True:
        with sessions.begin() as session:
            rows = store.versions_after(session, after_id, batch_size, captured_since=start,
                                        with_body=extract)
            if not rows:
                break
            after_id = rows[-1].id
            _process(session, rows, pipeline, extract, report)
    return report


def _process(session: Session, rows, pipeline, extract: bool, report: ReprocessReport) -> None:
    stored = store.mention_keys(session, [r.id for r in rows])
    with ThreadPoolExecutor(max_workers=pipeline.parser.limits.workers) as pool:
        derived = list(pool.map(lambda row: _derive(row, pipeline, extract), rows))
    for row, (fields, found) in zip(rows, derived, strict=True):
        report.versions_seen += 1
        if isinstance(fields, str):
            # The stored version stays as it is: re-extraction that finds no text
            # (or fails) must not blank a text the page once gave.
            report.extract_errors += 1
            report.kept_without_text += fields == Outcome.NO_TEXT
        elif fields is not None:
            policy = fields.pop("policy")
            if policy is not None:  # a re-extract reads the block too (older versions lack it)
                store.put_policy(session, row.id, policy)
            # Rewrite only what changed: a wide-row update also rewrites the row's
            # full-text and trigram index entries, which costs more than extraction.
            changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
            store.update_version(session, row.id, changed)
            report.versions_reextracted += 1
        new = {store.mention_key(m): m for m in found}
        old = stored.get(row.id, set())
        if set(new) != old:
            store.replace_mentions(session, row.id, list(new.values()), pipeline.entity_ids,
                                   pipeline.alias_ids)
            report.versions_rewritten += 1
            report.added.update(k[0] for k in set(new) - old)
            report.removed.update(k[0] for k in old - set(new))
    store.mark_matched(session, [r.id for r in rows], pipeline.matcher.revision)


def _derive(row, pipeline, extract: bool) -> tuple[dict | str | None, list]:
    """``(fields, mentions)`` of one stored version, computed in a parse worker: the
    re-extracted derived fields (None: not re-extracted; the outcome word: re-extraction
    failed, the stored text stays) and the mentions of the text the version will have."""
    watchlist = (pipeline.matcher.revision, pipeline.watchlist)
    title, body, fields = row.title, row.main_text, None
    if extract and row.attachment_of is None:  # a file's text is not HTML: kept as read
        fields, found = _reextract(row, pipeline, watchlist)
        if found is not None:
            return fields, found
        if not isinstance(fields, str):
            title, body = fields["title"], fields["main_text"]
    return fields, pipeline.parser.match(title, body, watchlist)


def _reextract(row, pipeline, watchlist) -> tuple[dict | str, list | None]:
    """The derived fields from the stored raw body and their mentions (None: the text is
    not the page's own, match it again), or the outcome word of the failure."""
    try:
        parsed = pipeline.parser.parse(row.raw_body, url=row.final_url, content_type=row.content_type,
                                       fetched_at=row.captured_at, site_timezone=row.timezone,
                                       watchlist=watchlist)
        page = require_text(parsed.page)
    except ExtractError as exc:
        return exc.outcome, None
    fields, found = page_fields(page), parsed.mentions
    # A stitched multi-page article (extractor_version "...+pagesN") stores its first page's
    # body only, which cannot give the whole text again: the stored text stays, the rest is
    # re-derived from the first page.
    if "+pages" in (row.extractor_version or ""):
        fields |= {"main_text": row.main_text,
                   "extractor_version": f"{fields['extractor_version']}+{row.extractor_version.partition('+')[2]}"}
        found = None
    policy = vars(page.policy) if page.policy is not None else None
    return fields | {"policy": policy, "content_hash": store.content_hash(
        page.title, fields["main_text"], store.policy_fingerprint(policy))}, found
