"""The domain steps glued together, without Prefect: discover -> fetch -> extract ->
match -> store. Flows in :mod:`hubwatch.flows.orchestration` call these functions per batch.

Every fetch is stored in its own transaction (snapshot, document, version, mentions
together), so a crash mid-run leaves no half-written document and the next run redoes only
what was not committed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from psycopg.errors import DeadlockDetected, SerializationFailure
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hubwatch.config.settings import Settings, get_settings
from hubwatch.config.sources import CATCH_ALL_SLUG, SourceConfig
from hubwatch.config.watchlist import Watchlist
from hubwatch.contract import DEFAULT_TIMEZONE
from hubwatch.crawl.discover import Candidate, discover
from hubwatch.crawl.fetch import CANCELLED, FetchResult
from hubwatch.crawl.urls import host_of, is_allowed, normalize_url, trusted_canonical
from hubwatch.mentions.match import Matcher
from hubwatch.models import store
from hubwatch.outcomes import SUCCEEDED, Outcome
from hubwatch.pipeline import paging
from hubwatch.pipeline.cancel import Cancellation
from hubwatch.pipeline.paging import Article
from hubwatch.pipeline.recheck import RecheckPolicy
from hubwatch.text.attachments import (
    ATTACHMENT_EXTRACTOR_VERSION,
    AttachmentError,
    AttachmentLink,
    Limits,
    extract_attachment,
    file_type_of,
    sniff_type,
)
from hubwatch.text.extract import EXTRACTOR_VERSION, ExtractError, Page, require_text
from hubwatch.text.worker import ParseCancelled, ParseLimits, ParsePool, cut_text, shared_pool

log = logging.getLogger(__name__)

DEADLOCK_RETRIES = 3


class DatabaseUnavailable(RuntimeError):
    """The database stayed unreachable longer than ``HUBWATCH_DB_RETRY_SECONDS``: the run
    fails with this (nothing half-written: each transaction rolled back whole)."""


def _lost_connection(exc: BaseException) -> bool:
    """A failure that a new connection may not have: the server restarted, shut down or
    dropped the connection (SQLAlchemy marks those ``connection_invalidated``), or refuses
    connections while it starts (57P03)."""
    from psycopg.errors import AdminShutdown, CannotConnectNow, CrashShutdown

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    return isinstance(orig, (AdminShutdown, CannotConnectNow, CrashShutdown)) or (
        isinstance(exc, OperationalError) and orig is not None
        and type(orig).__name__ == "OperationalError")  # psycopg's own: connect refused


def retry_db(work: Callable[[], object], what: str, seconds: float):
    """Run ``work`` (one whole transaction, or a read) again while the database is away,
    for up to ``seconds`` (backoff 0.5 s doubling to 5 s); a deadlock or serialization
    failure is retried ``DEADLOCK_RETRIES`` times. Returns what ``work`` returns.

    Raises:
        DatabaseUnavailable: still unreachable after ``seconds``, naming ``what``.
        the original error: anything else.
    """
    import time

    deadline, wait, conflicts = time.monotonic() + seconds, 0.5, 0
    while True:
        try:
            return work()
        except DBAPIError as exc:  # OperationalError (deadlocks, lost servers) is one too
            if isinstance(exc.orig, (DeadlockDetected, SerializationFailure)):
                conflicts += 1
                if conflicts >= DEADLOCK_RETRIES:
                    raise
                log.info("retrying %s after %s", what, type(exc.orig).__name__)
                continue
            if not _lost_connection(exc):
                raise
            if time.monotonic() + wait > deadline:
                raise DatabaseUnavailable(f"database unreachable for {seconds:g} s while "
                                          f"{what}: {exc.orig or exc}") from exc
            log.warning("database connection lost while %s; retrying in %.1f s", what, wait)
            time.sleep(wait)
            wait = min(wait * 2, 5.0)

#: Called as ``progress(kind, n)`` with kind ``"total"`` (n more to do) or ``"done"``.
ProgressHook = Callable[[str, int], None]


@dataclass
class RunCounts:
    """What a run did, thread-safe. ``outcomes`` counts page snapshots by outcome,
    ``discovery_outcomes`` the fetches of feeds, sitemaps, listings and JSON lists."""

    outcomes: Counter = field(default_factory=Counter)
    discovery_outcomes: Counter = field(default_factory=Counter)
    new_documents: int = 0
    new_versions: int = 0
    unchanged: int = 0
    duplicates: int = 0
    without_date: int = 0
    without_text: int = 0
    #: ok pages whose main text or mentions were cut at a cap (noted on their snapshot)
    capped: int = 0
    #: links discovery dropped as unfetchable (noted on the endpoint's snapshot)
    discovery_warnings: int = 0
    mentions: Counter = field(default_factory=Counter)
    discovered: int = 0
    rechecked: int = 0
    recheck_over_budget: int = 0
    not_due: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **deltas: int) -> None:
        with self._lock:
            for key, value in deltas.items():
                setattr(self, key, getattr(self, key) + value)

    def count(self, outcome: str, mentions: Iterable[str] = (), *, discovery: bool = False) -> None:
        with self._lock:
            (self.discovery_outcomes if discovery else self.outcomes)[str(outcome)] += 1
            self.mentions.update(mentions)

    def _fields(self) -> list[str]:
        # Every public field is a count (a Counter or an int): a new count needs no list.
        return [f.name for f in dataclasses.fields(self) if not f.name.startswith("_")]

    def state(self) -> dict:
        """Every count as plain JSON-able values (what a batch hands back to its run)."""
        with self._lock:
            return {k: (dict(v) if isinstance(v := getattr(self, k), Counter) else v)
                    for k in self._fields()}

    def merge(self, state: dict) -> None:
        """Add another batch's :meth:`state` to these counts."""
        with self._lock:
            for key in self._fields():
                mine = getattr(self, key)
                if isinstance(mine, Counter):
                    mine.update(state.get(key) or {})
                else:
                    setattr(self, key, mine + int(state.get(key) or 0))

    def as_dict(self) -> dict:
        """The summary stored in ``crawl_run.counts`` and shown at the end of a run."""
        ok_like = {str(o) for o in SUCCEEDED}
        with self._lock:
            failed = [n for counter in (self.outcomes, self.discovery_outcomes)
                      for o, n in counter.items() if o not in ok_like]
            return {
                "pages_fetched": sum(self.outcomes.values()),
                "discovery_fetches": sum(self.discovery_outcomes.values()),
                "not_modified": self.outcomes.get("not_modified", 0),
                "new_documents": self.new_documents,
                "new_versions": self.new_versions,
                "unchanged": self.unchanged,
                "gone": self.outcomes.get("gone", 0),
                "errors": sum(failed),
                "duplicates_skipped": self.duplicates,
                "discovered": self.discovered,
                "rechecked": self.rechecked,
                "recheck_over_budget": self.recheck_over_budget,
                "not_due": self.not_due,
                "without_date": self.without_date,
                "without_text": self.without_text,
                "capped": self.capped,
                "discovery_warnings": self.discovery_warnings,
                "outcomes": dict(self.outcomes),
                "discovery_outcomes": dict(self.discovery_outcomes),
                "mentions_by_entity": dict(self.mentions),
            }


@dataclass
class _Extracted:
    """What extraction made of an ``ok`` fetch: a page and its mentions, or the
    ``ExtractError`` that becomes the snapshot's outcome; ``note`` says what was capped."""

    page: Page | None = None
    mentions: list = field(default_factory=list)
    error: ExtractError | None = None
    note: str | None = None
    article: Article | None = None  # the article's pages when it has a pager


def internal_error_message(exc: BaseException, fetch_error: str | None = None) -> str:
    """``Type: message`` of an unexpected exception, for ``snapshot.error_message``
    (at most 2,000 characters; the fetch's own reason appended when there was one)."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if fetch_error:
        text += f" (fetch: {fetch_error})"
    return text[:2000]


def entity_specs(watchlist: Watchlist) -> list[store.EntitySpec]:
    """The watch-list as rows for ``entity``/``alias`` (acronyms flagged ambiguous).

    An alias listed under two scripts (京津冀 is both) is one row, with its first script.
    """
    specs = []
    for e in watchlist.entities:
        aliases = [store.AliasSpec(text, group) for (group, _), text in e.aliases.located()]
        aliases += [store.AliasSpec(acronym, "acronym", True) for acronym in e.acronyms]
        unique: dict[str, store.AliasSpec] = {}
        for alias in aliases:
            unique.setdefault(alias.text, alias)
        zh = e.aliases.zh_hans[0] if e.aliases.zh_hans else None
        specs.append(store.EntitySpec(e.key, e.name, zh, e.parent, tuple(unique.values())))
    return specs


@dataclass(frozen=True)
class SyncedIds:
    """Row ids of the synced configuration: ``{slug: id}``, ``{entity key: id}`` and
    ``{(entity key, alias text): id}``."""

    source_ids: dict[str, int]
    entity_ids: dict[str, int]
    alias_ids: dict[tuple[str, str], int]


def sync_config(session: Session, sources: list[SourceConfig], watchlist: Watchlist) -> SyncedIds:
    """Write the configured sources and the watch-list to their tables (idempotent; the
    caller commits) and return their ids. Done once per run, before any batch."""
    source_ids = store.sync_sources(session, sources)
    entity_ids = store.sync_entities(session, entity_specs(watchlist))
    return SyncedIds(source_ids, entity_ids, store.alias_ids(session))


def read_config_ids(session: Session) -> SyncedIds:
    """The ids :func:`sync_config` wrote, read back (a batch of a run that synced them)."""
    return SyncedIds(store.source_ids(session), store.entity_ids(session), store.alias_ids(session))


def page_fields(page: Page) -> dict:
    """The version columns derived from an extracted page: the one mapping used when a
    version is stored and when it is re-extracted (``reprocess --extract``)."""
    return dict(title=page.title, main_text=page.text, published_at=page.published_at,
                published_precision=page.published_precision, author=page.author,
                language=page.language, encoding=page.encoding, extractor_version=EXTRACTOR_VERSION)


class Pipeline:
    """One batch's shared state: database, matcher, sources, counts.

    The constructor writes nothing: :meth:`open` syncs the configuration first (a run's
    start, or a test), :meth:`attach` reads the ids a run already synced (a batch).

    Args:
        session_factory: sessions on the hubwatch database.
        sources: the configured sources (all of them: WARC and explicit URLs are assigned
            to the one whose allowed hosts match, else to the catch-all).
        watchlist: the loaded watch-list.
        ids: the synced configuration's row ids.
        run_id: the ``crawl_run`` row snapshots belong to (None: not recorded).
        cancellation: the run's stop signal (``hubwatch.pipeline.cancel.for_run``); None:
            a signal of this pipeline's own, set by :meth:`cancel`.
    """

    def __init__(self, session_factory: sessionmaker[Session], sources: list[SourceConfig],
                 watchlist: Watchlist, ids: SyncedIds, *, run_id: int | None = None,
                 settings: Settings | None = None, progress: ProgressHook | None = None,
                 cancellation: Cancellation | None = None) -> None:
        self.sessions = session_factory
        self.settings = settings or get_settings()
        self.sources = {s.slug: s for s in sources}
        self._source_of_site: dict[tuple[str, str], SourceConfig | None] = {}
        self.matcher = Matcher.shared(watchlist)
        self.watchlist = watchlist  # sent to the parse workers, which match there
        self.run_id = run_id
        self.counts = RunCounts()
        self.recheck = RecheckPolicy.from_settings(self.settings)
        self.progress = progress or (lambda kind, n: None)
        self.source_ids, self.entity_ids, self.alias_ids = ids.source_ids, ids.entity_ids, ids.alias_ids
        self.limits = Limits.from_settings(self.settings.attachments)
        # page URL -> (its document, its attachment links): left by _store_page for the
        # thread that fetched the page, which then fetches the files (fetch_and_store).
        self._links: dict[str, tuple[int, list[AttachmentLink]]] = {}
        self._links_lock = threading.Lock()
        self.parser: ParsePool = shared_pool(ParseLimits.from_settings(self.settings.parse))
        #: The run's stop signal: no new page starts once it is set (see ``cancel``).
        self.cancelled = cancellation or Cancellation()
        self.cancelled.register(self.parser.close)
        self._thread = threading.local()  # cut notes from parsing, per fetching thread

    @classmethod
    def open(cls, session_factory: sessionmaker[Session], sources: list[SourceConfig],
             watchlist: Watchlist, **kw) -> Pipeline:
        """Sync sources and watch-list (one transaction of its own), then build the pipeline."""
        with session_factory.begin() as session:
            ids = sync_config(session, sources, watchlist)
        return cls(session_factory, sources, watchlist, ids, **kw)

    @classmethod
    def attach(cls, session_factory: sessionmaker[Session], sources: list[SourceConfig],
               watchlist: Watchlist, **kw) -> Pipeline:
        """Build the pipeline of a run whose configuration is already synced (reads only)."""
        with session_factory() as session:
            ids = read_config_ids(session)
        return cls(session_factory, sources, watchlist, ids, **kw)

    # -- source assignment -----------------------------------------------------------
    def source_for(self, url: str) -> SourceConfig | None:
        """The configured source whose allowed hosts include the URL's host, if any."""
        # The answer depends on the scheme and the host:port only: one lookup per site
        # (an archive of 2,000 pages checked every source for every page).
        scheme, netloc = urlsplit(url.strip())[:2]
        site = (scheme.lower(), netloc.lower())
        if site not in self._source_of_site:
            self._source_of_site[site] = next(
                (s for s in self.sources.values() if is_allowed(url, set(s.allowed_hosts))), None)
        return self._source_of_site[site]

    # -- storing one fetch -----------------------------------------------------------
    def store_fetch(self, res: FetchResult, source: SourceConfig | None, *,
                    via: str = "http", seen_as: Iterable[str] = (), article: Article | None = None) -> str:
        """Store one fetch (page purpose) in one transaction; return the outcome recorded.

        ``seen_as``: other URLs the page was linked as; they map to its document too.
        ``article``: ``res`` already parsed, with the article's other pages when it has a
        pager (``hubwatch.pipeline.paging.collect``): one document keyed on the first
        page's canonical URL, the pages' texts stitched, every page URL mapped to it.
        A page that fails to decode or extract is recorded with that outcome and its
        cause; the run goes on. Whatever else goes wrong (a bug, a failed write), the
        fetch still ends as exactly one snapshot: ``internal_error`` with the exception's
        type and message, written in a fresh transaction. Returns ``"duplicate"`` for an
        archived fetch stored before (nothing is written then). Raises only
        ``ParseCancelled`` (the run is stopping: nothing is written) and, if even the
        ``internal_error`` snapshot cannot be written, that error.
        """
        return self._store_extracted(res, source, via, tuple(seen_as),
                                     self._extract_safely(res, source, article))

    def _extract_safely(self, res: FetchResult, source: SourceConfig | None,
                        article: Article | None = None) -> _Extracted | Exception | None:
        """``_extract`` of an ``ok`` fetch (None for any other), or the exception of ours it
        raised (stored as ``internal_error``); raises only ``ParseCancelled``."""
        if res.outcome != Outcome.OK:
            return None
        try:
            return self._extract(res, source, article)
        except ParseCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded by _store_extracted
            return exc

    def _store_extracted(self, res: FetchResult, source: SourceConfig | None, via: str,
                         seen_as: tuple[str, ...], extracted: _Extracted | Exception | None) -> str:
        """The storing half of :meth:`store_fetch` (same outcomes, same errors raised)."""
        slug = source.slug if source else CATCH_ALL_SLUG
        try:
            if isinstance(extracted, Exception):
                raise extracted
            outcome, mentions = self._store(res, source, slug, via, seen_as, extracted)
        except (ParseCancelled, DatabaseUnavailable):
            raise
        except Exception as exc:  # recorded, never lost: the run goes on
            log.exception("storing %s failed; recorded as internal_error", res.url)
            outcome, mentions = self._record_internal_error(res, slug, via, exc), []
        if outcome == "duplicate":
            self.counts.add(duplicates=1)
            return outcome
        self.counts.count(outcome, mentions)
        return outcome

    def _store(self, res: FetchResult, source: SourceConfig | None, slug: str, via: str,
               seen_as: tuple[str, ...], extracted: _Extracted | None) -> tuple[str, list[str]]:
        def work():
            with self.sessions.begin() as session:
                snap_id = store.record_snapshot(session, **self._snapshot_values(res, slug, via))
                if snap_id is None:
                    return "duplicate", []
                return self._apply(session, snap_id, res, source, seen_as, extracted)

        # The whole transaction again after a deadlock or a lost connection (a database
        # restart): it rolled back whole, and every write in it is idempotent.
        return retry_db(work, f"storing {res.url}", self.settings.crawl.db_retry_seconds)

    def _record_failure(self, res: FetchResult, source: SourceConfig | None, exc: BaseException) -> None:
        """An ``internal_error`` snapshot for a fetch whose storing raised; ``store_error``
        in the counts only if even that cannot be written."""
        try:
            outcome = self._record_internal_error(res, source.slug if source else CATCH_ALL_SLUG,
                                                  "http", exc)
        except Exception:  # noqa: BLE001 - the database itself is failing: logged, counted
            log.exception("recording the failure of %s failed", res.url)
            outcome = "store_error"
        self.counts.count(outcome)

    def _record_internal_error(self, res: FetchResult, slug: str, via: str, exc: BaseException) -> str:
        values = self._snapshot_values(res, slug, via)
        values.update(outcome=Outcome.INTERNAL_ERROR.value,
                      error_message=internal_error_message(exc, res.error))
        with self.sessions.begin() as session:
            store.record_snapshot(session, **values)
        return Outcome.INTERNAL_ERROR.value

    def _snapshot_values(self, res: FetchResult, slug: str, via: str,
                         purpose: str = "page") -> dict:
        return dict(crawl_run_id=self.run_id, source_id=self.source_ids[slug],
                    requested_url=res.url, final_url=res.final_url, fetched_at=res.fetched_at,
                    http_status=res.status, etag=res.etag, last_modified=res.last_modified,
                    body_sha256=hashlib.sha256(res.body).hexdigest() if res.body else None,
                    body_bytes=len(res.body) if res.body is not None else None,
                    attempts=res.attempts, outcome=str(res.outcome),
                    error_message=res.error[:2000] if res.error else None,
                    redirects=list(res.redirects) or None, via=via, purpose=purpose)

    def _parse_page(self, res: FetchResult, tz: str) -> Page:
        """``parse_page`` on a fetch result in a parse worker (bounded by
        ``parse_deadline_seconds`` and ``parse_memory_mb``; raises ``ExtractError``); a cut
        of its main text is noted for this thread's next ``_extract``."""
        try:
            parsed = self.parser.parse(res.body, url=res.final_url, content_type=res.headers.get(
                "content-type"), fetched_at=res.fetched_at, site_timezone=tz,
                watchlist=(self.matcher.revision, self.watchlist))
        except ExtractError as exc:
            self._thread.failed = (res, exc)  # not parsed twice (a bomb would cost two deadlines)
            raise
        # Matched in the worker: the parent uses them when this page is stored as it is.
        self._thread.matched = (parsed.page, parsed.mentions)
        if parsed.text_cut:
            self._notes().append(f"main text cut to {len(parsed.page.text):,} of "
                                 f"{parsed.text_chars:,} characters (max_text_chars)")
        return parsed.page

    def _notes(self) -> list[str]:
        notes = getattr(self._thread, "notes", None)
        if notes is None:
            notes = self._thread.notes = []
        return notes

    def _extract(self, res: FetchResult, source: SourceConfig | None,
                 article: Article | None) -> _Extracted:
        """Parse (unless ``article`` holds the parsed pages) and match one page outside any
        transaction; caps the main text and the mentions kept, noting each cut."""
        tz = source.timezone if source else DEFAULT_TIMEZONE
        notes = self._notes()
        failed, self._thread.failed = getattr(self._thread, "failed", None), None
        try:
            if article is None and failed is not None and failed[0] is res:
                raise failed[1]
            page = require_text(article.stitched() if article else self._parse_page(res, tz))
        except ExtractError as exc:
            return _Extracted(error=exc)
        finally:
            found, notes[:] = list(notes), []
            self._thread.failed = None
            matched, self._thread.matched = getattr(self._thread, "matched", None), None
        limit = self.settings.parse.max_text_chars
        if len(page.text) > limit:  # the pages of a paged article, stitched
            chars, page = len(page.text), cut_text(page, limit)
            found.append(f"main text cut to {len(page.text):,} of {chars:,} characters (max_text_chars)")
        if matched is not None and matched[0] is page and matched[1] is not None:
            mentions = matched[1]
        else:  # a stitched article: its text is matched here
            mentions = self.matcher.find(page.title, page.text)
        cap = self.settings.parse.max_mentions_per_version
        if len(mentions) > cap:
            found.append(f"mentions capped: first {cap:,} of {len(mentions):,} kept "
                         f"(max_mentions_per_version)")
            mentions = mentions[:cap]
        return _Extracted(page=page, mentions=mentions, note="; ".join(found) or None, article=article)

    def _apply(self, session: Session, snap_id: int, res: FetchResult,
               source: SourceConfig | None, seen_as: tuple[str, ...] = (),
               extracted: _Extracted | None = None) -> tuple[str, list[str]]:
        if res.outcome == Outcome.OK and extracted is not None:
            return self._store_page(session, snap_id, res, source, seen_as, extracted)
        known = store.find_document(session, res.url) or store.find_document(
            session, normalize_url(res.url))
        if known is not None:
            store.link_snapshot(session, snap_id, document_id=known.id)
            store.touch_document(session, known.id, fetched_at=res.fetched_at,
                                 gone=res.outcome == Outcome.GONE,
                                 available=res.outcome == Outcome.NOT_MODIFIED)
            self._schedule(session, known.id, ok=res.outcome == Outcome.NOT_MODIFIED)
        return str(res.outcome), []

    def _schedule(self, session: Session, doc_id: int, *, ok: bool) -> None:
        """Store the document's next recheck after a fetch of it: by the schedule after a
        successful one, none once it is gone, the next night after a failed one."""
        times = store.document_times(session, doc_id)
        if times.gone:
            store.set_next_check(session, doc_id, None)
        elif ok:
            store.set_next_check(session, doc_id, self.recheck.next_check(
                checked_at=times.last_fetched_at, first_seen_at=times.first_seen_at,
                last_changed_at=times.last_changed_at, key=times.canonical_url))
        else:
            store.set_next_check(session, doc_id, times.last_fetched_at + self.recheck.new_interval)

    def _store_page(self, session: Session, snap_id: int, res: FetchResult,
                    source: SourceConfig | None, seen_as: tuple[str, ...],
                    extracted: _Extracted) -> tuple[str, list[str]]:
        if extracted.error is not None:
            exc = extracted.error
            store.set_snapshot_outcome(session, snap_id, exc.outcome, str(exc))
            if exc.outcome == Outcome.NO_TEXT:
                self._no_text(session, snap_id, res)
            return str(exc.outcome), []
        page, mentions, article = extracted.page, extracted.mentions, extracted.article
        if extracted.note:
            store.set_snapshot_outcome(session, snap_id, Outcome.OK.value, extracted.note)
            self._tally().add(capped=1)
        slug = source.slug if source else CATCH_ALL_SLUG
        hosts = set(source.allowed_hosts) if source else {host_of(res.final_url)}
        first = res
        if article is not None and article.paged:
            # Keyed on the first page: its fetch when there is one, else its URL.
            first, first_page = article.first()
            canonical = (self._canonical(session, first, first_page, hosts) if article.pages[0][0] == 1
                         else normalize_url(article.first_url))
        else:
            canonical = self._canonical(session, res, page, hosts)
        urls = [res.url, res.final_url, normalize_url(res.url), *res.redirects, *seen_as,
                *(article.urls() if article is not None else ())]
        pages = len(article.pages) if article is not None and article.paged else 1
        version = self._version(first, page, canonical, pages)
        doc_id, created = store.resolve_document(
            session, canonical_url=canonical, urls=urls, source_id=self.source_ids[slug],
            seen_at=res.fetched_at, created_values=self._new_document_values(res, version))
        version_id = store.add_version(session, doc_id, version, mentions, self.entity_ids,
                                       self.alias_ids, self.matcher.revision,
                                       policy=_policy_row(page), new_document=created)
        store.link_snapshot(session, snap_id, document_id=doc_id, version_id=version_id)
        if not created:
            store.touch_document(session, doc_id, fetched_at=res.fetched_at, etag=res.etag,
                                 last_modified=res.last_modified, available=True)
        # Captures of its URLs stored before the document existed (a backfill taken
        # newest first) are its own: linked, and its gone state settled with them.
        adopted = store.adopt_snapshots(session, doc_id)
        if not created or adopted:  # else the insert already set what these would
            self._schedule(session, doc_id, ok=True)
        if page.attachments:
            with self._links_lock:
                self._links[res.url] = (doc_id, page.attachments)
        self._tally().add(new_documents=int(created), new_versions=int(bool(version_id)),
                          unchanged=int(not version_id), without_date=int(not page.published_at))
        return Outcome.OK.value, [m.entity for m in mentions] if version_id else []

    def _new_document_values(self, res: FetchResult, version: store.VersionInput) -> dict:
        """The columns a successful fetch sets on a document created by it: what
        ``touch_document`` and ``_schedule`` would write (first seen, fetched and changed
        at this capture), in the insert itself."""
        return dict(last_fetched_at=res.fetched_at, etag=res.etag, last_modified=res.last_modified,
                    next_check_at=self.recheck.next_check(
                        checked_at=res.fetched_at, first_seen_at=res.fetched_at,
                        last_changed_at=version.captured_at, key=version.canonical_url))

    def _tally(self) -> RunCounts:
        """Where the storing code counts: the open batch's own counts (added to the run's
        once the batch commits), else the run's."""
        return getattr(self._thread, "tally", None) or self.counts

    def _no_text(self, session: Session, snap_id: int, res: FetchResult) -> None:
        """A page served without main text: no version (a document that had text must not
        get an empty one, which would read as an edit removing everything); the snapshot
        is linked to the document already known under the URL, whose versions stay."""
        self._tally().add(without_text=1)
        known = next((d for u in (res.final_url, res.url, normalize_url(res.final_url))
                      if (d := store.find_document(session, u)) is not None), None)
        if known is not None:
            store.link_snapshot(session, snap_id, document_id=known.id)
            store.touch_document(session, known.id, fetched_at=res.fetched_at)

    def _canonical(self, session: Session, res: FetchResult, page: Page, hosts: set[str]) -> str:
        """The URL to key the document on (see flows.urls.trusted_canonical), distrusting a
        canonical that another page with different content already claimed."""
        own = normalize_url(res.final_url)
        canonical = trusted_canonical(res.final_url, page.canonical_url, hosts)
        if canonical == own:
            return own
        claimed = store.current_hash_of(session, canonical)
        digest = store.content_hash(page.title, page.text, store.policy_fingerprint(_policy_row(page)))
        if claimed is not None and claimed[1] not in (None, digest):
            known = store.find_document(session, own) or store.find_document(session, res.url)
            if known is None or known.id != claimed[0]:
                return own
        return canonical

    def _version(self, res: FetchResult, page: Page, canonical: str, pages: int = 1) -> store.VersionInput:
        """The version row; a text stitched from ``pages`` pages says so in its
        ``extractor_version`` (``1.3.1+pages3``): its raw body is the first page's only."""
        return store.VersionInput(
            captured_at=res.fetched_at, final_url=res.final_url, canonical_url=canonical,
            content_type=res.headers.get("content-type"), raw_body=res.body,
            **(page_fields(page) | ({} if pages == 1 else {"extractor_version": f"{EXTRACTOR_VERSION}+pages{pages}"})))

    def record_discovery(self, res: FetchResult, outcome: str, error: str | None,
                         source: SourceConfig, warnings: Iterable[str] = ()) -> None:
        """Store a discovery fetch (feed, sitemap, listing, JSON list) as a snapshot.

        ``warnings`` (links dropped as unfetchable) are appended to its error message and
        counted in ``discovery_warnings``; they do not change the outcome."""
        warnings = list(warnings)
        if warnings:
            shown = "; ".join(warnings[:5]) + (f"; and {len(warnings) - 5} more" if len(warnings) > 5 else "")
            error = (f"{error}; " if error else "") + f"dropped {len(warnings)} bad link(s): {shown}"
        values = self._snapshot_values(res, source.slug, "http", purpose="discovery")
        values.update(outcome=str(outcome), error_message=error[:2000] if error else None)

        def work():
            with self.sessions.begin() as session:
                store.record_snapshot(session, **values)

        retry_db(work, f"storing {res.url}", self.settings.crawl.db_retry_seconds)
        self.counts.count(outcome, discovery=True)
        self.counts.add(discovery_warnings=len(warnings))

    # -- batches ---------------------------------------------------------------------
    def crawl_source(self, source: SourceConfig, fetcher, *, max_pages: int | None = None,
                     since: dt.date | None = None, dry_run: bool = False,
                     recheck: bool = False) -> list[Candidate]:
        """Discover and fetch one source's pages; return the candidates found.

        Pages already stored are fetched conditionally (ETag / Last-Modified). The page
        cap applies during discovery (see ``discover``). After ``cancel()`` nothing starts.
        Without ``recheck`` every page discovered is fetched. With it (the nightly run), the
        recheck schedule decides for known documents: new pages are fetched first, then
        the source's documents that are due (listed today or not), most overdue first,
        within ``recheck_budget_per_host`` requests per host less that host's new pages;
        a known page listed but not due is not fetched (see docs/design.md).
        """
        if self.cancelled.is_set():
            return []
        limit = max_pages or source.max_pages or self.settings.crawl.max_pages_per_source
        fetch = self._bound_fetch(fetcher, source)
        found = discover(source, fetch, since=since, limit=limit)
        for report in found.endpoints:
            if self.cancelled.is_set() and report.fetch.error == CANCELLED:
                continue  # never finished: not a finding about the endpoint
            self.record_discovery(report.fetch, report.outcome, report.error, source, report.warnings)
        self.counts.add(discovered=len(found.candidates))
        urls = [u for c in found.candidates for u in (c.url, *c.seen_as)]
        if dry_run or self.cancelled.is_set():
            pass
        elif recheck:
            new, rechecks = self.plan_rechecks(source, urls)
            self.fetch_and_store(new, fetcher, source)
            self.fetch_and_store(rechecks, fetcher, source)
        else:
            self.fetch_and_store(urls, fetcher, source)
        return found.candidates

    def plan_rechecks(self, source: SourceConfig, urls: list[str],
                      now: dt.datetime | None = None) -> tuple[list[str], list[str]]:
        """Split one night's work for ``source``: ``(new, rechecks)``.

        ``new``: the discovered URLs of no document yet (or of a gone document listed
        again, or one never stored with content), all their variants; ``rechecks``: URLs
        of known documents due before ``now`` (UTC) plus the lookahead, listed today or
        not, most overdue first, at most ``budget_per_host`` minus the host's new
        pages per host. Counts ``not_due``, ``rechecked`` and ``recheck_over_budget``.
        """
        now = now or dt.datetime.now(dt.UTC)
        due_before = self.recheck.due_before(now)
        variants: dict[str, list[str]] = {}
        for raw in urls:
            variants.setdefault(normalize_url(raw), []).append(raw)
        new: list[str] = []
        new_keys: list[str] = []
        listed_due: list[tuple[dt.datetime | None, int, str]] = []
        not_due = 0
        with self.sessions() as session:
            for url, raws in variants.items():
                known = store.find_document(session, url)
                if known is None or not known.has_version or known.gone:
                    new += raws
                    new_keys.append(url)
                elif known.next_check_at is None or known.next_check_at < due_before:
                    listed_due.append((known.next_check_at, known.id, url))
                else:
                    not_due += 1
            per_host_new = Counter(host_of(u) for u in new_keys)
            hosts = {h.lower() for h in source.allowed_hosts} | set(per_host_new)
            room = self.recheck.budget_per_host * max(1, len(hosts))
            listed_ids = {i for _, i, _ in listed_due}
            overdue = [(d.next_check_at, d.id, d.url) for d in store.due_documents(
                session, self.source_ids[source.slug], due_before, room + len(listed_ids))
                if d.id not in listed_ids]
        quota = Counter({h: max(0, self.recheck.budget_per_host - n)
                         for h, n in per_host_new.items()})
        rechecks, over = [], 0
        # Most overdue first (never scheduled first of all), listed today or not.
        due = sorted([*listed_due, *overdue], key=lambda d: (d[0] is not None, d[0] or now, d[1]))
        for _, _, url in due:
            host = host_of(url)
            left = quota.get(host, self.recheck.budget_per_host)
            if left <= 0:
                over += 1
                continue
            quota[host] = left - 1
            rechecks.append(url)
        self.counts.add(not_due=not_due, rechecked=len(rechecks), recheck_over_budget=over)
        return new, rechecks

    def fetch_and_store(self, urls: list[str], fetcher, source: SourceConfig | None) -> None:
        """Fetch ``urls`` (conditionally where known) on a thread pool and store each.

        URLs are normalised first (tracking parameters, fragment, host case, default
        port): variants of one link are fetched once. Every URL started ends as one
        snapshot (``store_fetch``); after ``cancel()`` no new URL starts.
        """
        variants: dict[str, list[str]] = {}
        for raw in urls:
            variants.setdefault(normalize_url(raw), []).append(raw)
        urls = list(variants)
        self.progress("total", len(urls))

        def one(url: str) -> None:
            if self.cancelled.is_set():
                return
            src = source or self.source_for(url)
            try:
                res, known = self._fetch_page(fetcher, src, url)
                if self.cancelled.is_set():
                    return  # an aborted socket is no finding about the page
                article = self._collect(res, src, fetcher, url)
                self.store_fetch(res, src, seen_as=variants[url], article=article)
                self.fetch_attachments(res, known.id if known else None, fetcher, src)
            except ParseCancelled:
                return
            except DatabaseUnavailable:
                raise  # not one bad page: the run fails, saying why
            except Exception:  # even the internal_error snapshot failed (database gone?)
                log.exception("storing %s failed", url)
                self.counts.count("store_error")
            self.progress("done", 1)

        with ThreadPoolExecutor(max_workers=self.settings.crawl.fetch_workers) as pool:
            list(pool.map(one, urls))

    def _collect(self, res: FetchResult, source: SourceConfig | None, fetcher, url: str) -> Article | None:
        """The article ``res`` is a page of (``hubwatch.pipeline.paging.collect``), parsed in
        the parse workers; None when it is not an ``ok`` page or does not parse (then
        ``store_fetch`` records why) or when collecting fails in our own code (then
        ``store_fetch`` parses the page alone)."""
        self._notes().clear()
        self._thread.failed = None
        try:
            return paging.collect(res, source.timezone if source else DEFAULT_TIMEZONE,
                                  self._bound_fetch(fetcher, source, url), parse=self._parse_page)
        except ParseCancelled:
            raise
        except Exception:  # noqa: BLE001 - the other pages are lost, the page itself is not
            log.exception("collecting the pages of %s failed", url)
            self._notes().clear()
            return None

    def _find(self, url: str):
        with self.sessions() as session:
            return store.find_document(session, url)

    def _fetch_page(self, fetcher, source: SourceConfig | None, url: str):
        """The fetch of one page and the stored document it is, if any; an exception of
        ours becomes an ``internal_error`` result."""
        known = None
        try:
            known = retry_db(lambda: self._find(url), f"looking up {url}",
                             self.settings.crawl.db_retry_seconds)
            fetch = self._bound_fetch(fetcher, source, url)
            return fetch(url, expect="page", etag=known.etag if known and known.has_version else None,
                         last_modified=known.last_modified if known and known.has_version else None
                         ), known
        except DatabaseUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded as the page's snapshot
            log.exception("fetching %s failed", url)
            now = dt.datetime.now(dt.UTC)
            return FetchResult(url=url, final_url=url, status=None, headers={}, body=b"",
                               outcome=Outcome.INTERNAL_ERROR, error=internal_error_message(exc),
                               attempts=0, fetched_at=now, elapsed_seconds=0.0, redirects=[],
                               etag=None, last_modified=None), known

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the run soon: no new fetch or parse starts; pages in flight are dropped
        (not recorded: their next run redoes them). Safe from a signal handler."""
        self.cancelled.set(reason)

    # -- attachments -------------------------------------------------------------------
    def fetch_attachments(self, page: FetchResult, known_id: int | None, fetcher,
                          source: SourceConfig | None) -> None:
        """Fetch the files a page links (PDF, DOCX, OFD...), with the page's allowed
        hosts, politeness and headers, conditionally where stored before; also those
        stored for a page that answered 304 (a file can change while its page does not).
        Links outside the source's allowed hosts are not fetched."""
        with self._links_lock:
            parent_id, links = self._links.pop(page.url, (known_id, []))
        if parent_id is None or page.outcome not in (Outcome.OK, Outcome.NOT_MODIFIED):
            return
        with self.sessions() as session:
            known = {normalize_url(k.url): k for k in store.attachments_of(session, parent_id)}
        wanted = {normalize_url(link.url): link for link in links}
        for url, k in known.items():
            wanted.setdefault(url, AttachmentLink(k.url, k.link_text or "", k.file_type or file_type_of(k.url) or ""))
        hosts = set(source.allowed_hosts) if source else {host_of(page.final_url)}
        fetch = self._bound_fetch(fetcher, source, page.final_url)
        for url, link in wanted.items():
            if not is_allowed(url, hosts):
                continue
            with self.sessions() as session:
                doc = store.find_document(session, url)
            res = fetch(url, expect="any", max_bytes=self.settings.attachments.max_bytes,
                        etag=doc.etag if doc and doc.has_version else None,
                        last_modified=doc.last_modified if doc and doc.has_version else None)
            try:
                self.store_attachment(res, source, parent_id, link)
            except Exception as exc:  # one bad file must not end the run, nor go unrecorded
                log.exception("storing attachment %s failed; recorded as internal_error", url)
                self._record_failure(res, source, exc)

    def store_attachment(self, res: FetchResult, source: SourceConfig | None, parent_id: int,
                         link: AttachmentLink) -> str:
        """Store one attachment fetch in one transaction: a document of its own (the
        page's source), linked to its page, versioned by its text, with mentions. A file
        that cannot be read is recorded with its outcome and cause; returns the outcome."""
        slug = source.slug if source else CATCH_ALL_SLUG
        with self.sessions.begin() as session:
            snap_id = store.record_snapshot(session, **self._snapshot_values(res, slug, "http"))
            if res.outcome != Outcome.OK:
                outcome, mentions = self._apply(session, snap_id, res, source)
            else:
                outcome, mentions = self._store_file(session, snap_id, res, slug, parent_id, link)
        self.counts.count(outcome, mentions)
        return outcome

    def _store_file(self, session: Session, snap_id: int, res: FetchResult, slug: str,
                    parent_id: int, link: AttachmentLink) -> tuple[str, list[str]]:
        kind = _file_type(res.body, link.url)
        try:
            found = extract_attachment(res.body, kind, self.limits)
        except AttachmentError as exc:
            store.set_snapshot_outcome(session, snap_id, exc.outcome, str(exc))
            return exc.outcome, []
        canonical = normalize_url(res.final_url)
        doc_id, created = store.resolve_document(
            session, canonical_url=canonical, urls=[res.url, res.final_url, *res.redirects],
            source_id=self.source_ids[slug], seen_at=res.fetched_at)
        store.set_attachment_of(session, doc_id, parent_id)
        title = link.link_text or canonical.rsplit("/", 1)[-1]
        mentions = self.matcher.find(title, found.text)
        version = store.VersionInput(
            captured_at=res.fetched_at, final_url=res.final_url, canonical_url=canonical,
            content_type=res.headers.get("content-type"), raw_body=res.body, encoding=None,
            title=title, main_text=found.text, published_at=None, published_precision=None,
            author=None, language=None, extractor_version=ATTACHMENT_EXTRACTOR_VERSION)
        version_id = store.add_version(
            session, doc_id, version, mentions, self.entity_ids, self.alias_ids,
            self.matcher.revision, attachment=dict(file_type=kind, link_text=link.link_text or None,
                                                   page_count=found.page_count, bytes=len(res.body)))
        store.touch_document(session, doc_id, fetched_at=res.fetched_at, etag=res.etag,
                             last_modified=res.last_modified, available=True)
        store.link_snapshot(session, snap_id, document_id=doc_id, version_id=version_id)
        self.counts.add(new_documents=int(created), new_versions=int(bool(version_id)),
                        unchanged=int(not version_id))
        return Outcome.OK.value, [m.entity for m in mentions] if version_id else []

    def _bound_fetch(self, fetcher, source: SourceConfig | None, url: str | None = None):
        hosts = set(source.allowed_hosts) if source else {host_of(url)} if url else set()
        headers = dict(source.headers) if source else {}
        delay = source.delay_seconds if source else self.settings.fetch.host_delay

        def fetch(u: str, **kw) -> FetchResult:
            return fetcher.fetch(u, allowed_hosts=hosts, headers=headers, delay=delay, **kw)

        return fetch

    def import_warc(self, path: str | Path) -> None:
        """Store every response record of a WARC file as a fetch at its archive date.

        Records are read in chunks of ``write_batch_pages``; one query per chunk finds the
        captures stored before (counted as duplicates, never parsed: a re-import costs
        the reading only). The rest are parsed and matched in the parse workers,
        ``parse_workers`` at once (at most twice that many read ahead), and stored in
        archive order, ``write_batch_pages`` per transaction (:meth:`store_archived`), by
        one writer thread: a batch is written while the next one is parsed, so the
        workers never wait for the database. At most one batch is being written and one
        filled, so memory stays bounded by two batches, a chunk and the read-ahead.
        After ``cancel()`` the pages parsed so far are stored and the rest dropped.
        Raises what storing a batch raises (``DatabaseUnavailable``), once the batch
        being written has finished.
        """
        from hubwatch.crawl.warc import read_warc

        # The progress total takes a pass over the file (about 0.4 s per 100 MB): counted
        # beside the import, so the workers start on the first records at once.
        counting = threading.Thread(target=self._count_records, args=(path,), daemon=True,
                                    name="hubwatch-warc-count")
        counting.start()
        ahead, size = 2 * self.parser.limits.workers, self.settings.database.write_batch_pages
        window: deque[tuple[FetchResult, SourceConfig | None, Future]] = deque()
        batch: list[Archived] = []
        chunk: list[FetchResult] = []
        with ThreadPoolExecutor(max_workers=self.parser.limits.workers) as pool, \
                _BatchWriter(self.store_archived) as writer:

            def parse(records: list[FetchResult]) -> None:
                nonlocal batch
                for res in self._not_stored(records):
                    source = self.source_for(res.url)
                    window.append((res, source, pool.submit(self._extract_safely, res, source)))
                    while len(window) > ahead:
                        batch = self._collect_archived(window.popleft(), batch, size, writer)

            try:
                for res in read_warc(path, self.settings.fetch.max_bytes):
                    if self.cancelled.is_set():
                        break
                    chunk.append(res)
                    if len(chunk) >= size:
                        parse(chunk)
                        chunk = []
                if chunk and not self.cancelled.is_set():
                    parse(chunk)
                while window and not self.cancelled.is_set():
                    batch = self._collect_archived(window.popleft(), batch, size, writer)
            except ParseCancelled:
                pass  # the run is stopping: what was parsed is stored below
            finally:
                for *_, future in window:
                    future.cancel()
                counting.join()  # the total is reported before the import returns
            writer.write(batch)

    def _count_records(self, path: str | Path) -> None:
        """Report the records of ``path`` as the progress total (nothing when unreadable:
        ``read_warc`` then says why)."""
        from hubwatch.crawl.warc import count_responses

        total = count_responses(path)
        if total is not None:
            self.progress("total", total)

    def _not_stored(self, records: list[FetchResult]) -> list[FetchResult]:
        """``records`` less the captures stored before (one query), which are counted as
        duplicates and done."""
        def read():
            with self.sessions() as session:
                return store.archived_captures(session, [(r.url, r.fetched_at) for r in records])

        stored = retry_db(read, "looking up archived captures", self.settings.crawl.db_retry_seconds)
        fresh = [r for r in records if (r.url, r.fetched_at) not in stored]
        if len(fresh) < len(records):
            self.counts.add(duplicates=len(records) - len(fresh))
            self.progress("done", len(records) - len(fresh))
        return fresh

    def _collect_archived(self, item: tuple, batch: list[Archived], size: int,
                          writer: _BatchWriter) -> list[Archived]:
        """Add a parsed record to the batch; hand the batch to the writer once it is full."""
        res, source, future = item
        batch.append(Archived(res, source, future.result()))
        if len(batch) < size:
            return batch
        writer.write(batch)
        return []

    def store_archived(self, batch: list[Archived]) -> None:
        """Store extracted archived fetches in one transaction, as ``store_fetch`` would
        one by one (same rows, outcomes and counts).

        A capture already stored (a parallel run took it since ``import_warc``'s check of
        its chunk) is counted as a duplicate by its snapshot insert and not written. If any page fails to store, the transaction rolls back whole and the
        batch is stored page by page, each in its own transaction, so the bad page is
        recorded as ``internal_error`` with its cause and the others are kept. A crash
        loses the open batch only: each of its pages is then stored by the next run.
        Raises ``DatabaseUnavailable`` as ``store_fetch`` does.
        """
        if not batch:
            return
        try:
            tally = retry_db(lambda: self._write_batch(batch), f"storing {len(batch)} archived pages",
                             self.settings.crawl.db_retry_seconds)
        except DatabaseUnavailable:
            raise
        except Exception:  # noqa: BLE001 - one bad page: each page in a transaction of its own
            log.info("a page of a batch of %d failed to store; storing them one by one", len(batch))
            for item in batch:
                self._store_alone(item)
        else:
            self.counts.merge(tally.state())
        with self._links_lock:  # an archive's pages are not followed to their files
            for item in batch:
                self._links.pop(item.fetch.url, None)
        self.progress("done", len(batch))

    def _store_alone(self, item: Archived) -> None:
        try:
            self._store_extracted(item.fetch, item.source, "warc", (), item.extracted)
        except DatabaseUnavailable:
            raise
        except Exception:  # even the internal_error snapshot failed: logged, counted
            log.exception("storing archived %s failed", item.fetch.url)
            self.counts.count("store_error")

    def _write_batch(self, batch: list[Archived]) -> RunCounts:
        """One transaction storing every page of ``batch``; returns its counts (the run's
        are added only after the commit). Raises whatever a page's storing raised."""
        tally = self._thread.tally = RunCounts()
        try:
            with self.sessions.begin() as session:
                for item in batch:
                    if isinstance(item.extracted, Exception):
                        raise item.extracted  # stored (as internal_error) page by page
                    slug = item.source.slug if item.source else CATCH_ALL_SLUG
                    snap_id = store.record_snapshot(session, **self._snapshot_values(item.fetch, slug, "warc"))
                    if snap_id is None:  # a parallel run stored it since the lookup
                        tally.add(duplicates=1)
                        continue
                    outcome, mentions = self._apply(session, snap_id, item.fetch, item.source, (),
                                                    item.extracted)
                    tally.count(outcome, mentions)
        finally:
            self._thread.tally = None
        return tally


class _BatchWriter:
    """One writer thread for ``write`` (a batch in, nothing out), fed one batch at a time.

    ``write(batch)`` waits for the batch before it to be written (re-raising what writing
    it raised), then starts writing ``batch`` and returns: the caller fills the next batch
    meanwhile. Leaving the ``with`` block waits for the last write and re-raises its error
    (unless the block is already leaving with one).
    """

    def __init__(self, write: Callable[[list], None]) -> None:
        self._write = write
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hubwatch-writer")
        self._pending: Future | None = None

    def write(self, batch: list) -> None:
        self.wait()
        if batch:
            self._pending = self._pool.submit(self._write, batch)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _BatchWriter:
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                self.wait()
            elif self._pending is not None:  # already failing: the write ends, its error is logged
                self._pending.add_done_callback(_log_write_error)
        finally:
            self._pool.shutdown(wait=True)


def _log_write_error(future: Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("writing an archived batch failed while the import was stopping: %s", future.exception())


@dataclass
class Archived:
    """An archived fetch, its source and what extraction made of it (``_Extracted``; None
    when it is not an ``ok`` fetch; the exception of ours extraction raised)."""

    fetch: FetchResult
    source: SourceConfig | None
    extracted: _Extracted | Exception | None


def _file_type(body: bytes, url: str) -> str:
    """The file's type from its bytes; an OLE2 file (.doc, .wps, .xls alike) by its name."""
    sniffed, named = sniff_type(body), file_type_of(url)
    if sniffed == "doc" and named in ("doc", "wps", "xls"):
        return named
    return sniffed or named or "unknown"


def _policy_row(page: Page) -> dict | None:
    """The page's official-document record as ``policy_record`` columns, or None."""
    return vars(page.policy) if page.policy is not None else None

