"""What the CLI shows: one page extracted without storing (``hubwatch extract``), and
the operators' status tables (``hubwatch status``)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from rich.table import Table
from rich.text import Text

from hubwatch.outcomes import Outcome

NO_TEXT = Outcome.NO_TEXT.value


def inspect_target(target: str, *, original_url: str | None = None,
                   with_boilerplate: bool = False) -> dict:
    """Extract one file or http(s) URL as the pipeline would, storing nothing.

    A file is read as raw bytes (``original_url`` is its URL for canonical and date
    rules); a URL is fetched with the pipeline's fetcher, its own host and port being the
    only allowed ones. Never raises for a bad page: ``outcome`` and ``error`` say why.

    Returns the ``--format jsonl`` record: file, url, title, text, published_at (ISO 8601
    with offset or None), published_precision, author, language, canonical_url, outcome,
    error, mentions (entity, surface, start, end, zone), unanchored (ambiguous names found in
    the title or main text but not counted: entity, surface, start, end, zone, reason; see
    ``Matcher.find_explained``), policy (the official-document record: issuing_bodies ...
    validity as in the ``policy_documents`` view, dates as ISO dates; None when the page
    shows no block), pager_links (the other pages of a multi-page article; a URL's are
    fetched and their texts stitched, as the pipeline does) and, when asked,
    boilerplate_mentions.
    A PDF, DOCX or OFD file (by its bytes, or its name's ending) is read as an attachment:
    its line has ``file_type`` and ``page_count`` too, the file's link text is unknown so
    ``title`` is its file name; ``.doc``/``.wps`` give the outcome ``unsupported``.
    """
    record: dict = {"file": None, "url": original_url, "title": None, "text": None,
                    "published_at": None, "published_precision": None, "author": None,
                    "language": None, "canonical_url": None, "outcome": None, "error": None,
                    "mentions": [], "unanchored": [], "policy": None, "pager_links": []}
    article = None
    try:
        if target.startswith(("http://", "https://")):
            record["url"] = target
            body, content_type, fetched_at, final_url, article = _fetch(target, record)
        else:
            record["file"] = target
            body, content_type, fetched_at, final_url = _read(target, record)
        if body is None:
            return record
        if not body.strip():
            record.update(outcome=NO_TEXT, error=f"empty body ({len(body)} bytes)")
            return record
        return _extract(record, body, content_type, fetched_at, final_url, with_boilerplate, article)
    except Exception as exc:  # noqa: BLE001 - the contract: one record per target, always
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        record.update(outcome=Outcome.INTERNAL_ERROR.value, error=text[:2000], mentions=[], unanchored=[])
        return record


def _read(path: str, record: dict):
    try:
        body = Path(path).read_bytes()
    except OSError as exc:
        record.update(outcome=Outcome.NETWORK_ERROR.value, error=f"cannot read file: {exc}")
        return None, None, None, None
    return body, None, dt.datetime.now(dt.UTC), record["url"]


def _fetch(url: str, record: dict):
    from hubwatch.config.settings import get_settings
    from hubwatch.contract import DEFAULT_TIMEZONE
    from hubwatch.crawl.fetch import Fetcher
    from hubwatch.crawl.urls import host_of
    from hubwatch.pipeline.paging import collect
    from hubwatch.text.attachments import file_type_of

    settings = get_settings()
    kind = {"expect": "any", "max_bytes": settings.attachments.max_bytes} if file_type_of(url) else {}
    article = None
    with Fetcher(settings.fetch) as fetcher:
        res = fetcher.fetch(url, allowed_hosts={host_of(url)}, **{"expect": "page", **kind})
        if not kind:  # an attachment has no pager
            article = collect(res, DEFAULT_TIMEZONE,
                              lambda u, **kw: fetcher.fetch(u, allowed_hosts={host_of(url)}, **kw),
                              parse=_bounded_parse)
    if res.outcome != Outcome.OK:
        record.update(outcome=str(res.outcome), error=res.error or f"HTTP {res.status}")
        return None, None, None, None, None
    return res.body, res.headers.get("content-type"), res.fetched_at, res.final_url, article


def _extract(record: dict, body: bytes, content_type, fetched_at, final_url, with_bp: bool, article=None):
    from hubwatch.config.settings import get_settings
    from hubwatch.text.attachments import file_type_of, sniff_type
    from hubwatch.text.extract import ExtractError, require_text

    kind = sniff_type(body)
    named = file_type_of(record["file"] or final_url or "")
    if kind or named:
        return _attachment(record, body, named if kind in (None, "doc") and named else kind)

    s = get_settings()
    p = s.parse
    try:  # bounded as in a crawl: an attribute bomb ends as parse_limit, not a hang
        page = require_text(article.stitched() if article is not None else _pool().parse(
            body, url=final_url, content_type=content_type, fetched_at=fetched_at).page)
    except ExtractError as exc:  # the message alone: the outcome has its own field
        record.update(outcome=str(exc.outcome), error=exc.message)
        return record
    matcher = _matcher(s.watchlist_file)
    findings = matcher.find_explained(page.title, page.text)
    mentions = findings.mentions[:p.max_mentions_per_version]
    record.update(
        title=page.title, text=page.text, author=page.author, language=page.language,
        published_at=page.published_at.isoformat() if page.published_at else None,
        published_precision=page.published_precision, canonical_url=page.canonical_url,
        outcome=Outcome.OK.value, policy=page.policy.as_dict() if page.policy else None,
        pager_links=page.pager_links,
        mentions=[{"entity": m.entity, "surface": m.surface, "start": m.start, "end": m.end,
                   "zone": m.zone} for m in mentions],
        unanchored=[{"entity": u.entity, "surface": u.surface, "start": u.start, "end": u.end,
                     "zone": u.zone, "reason": u.reason} for u in findings.unanchored])
    if with_bp:
        record["boilerplate_mentions"] = [
            {"entity": m.entity, "surface": m.surface, "block": i}
            for i, block in enumerate(page.boilerplate) for m in matcher.find_in(block)]
    return record


def _attachment(record: dict, body: bytes, kind: str) -> dict:
    from hubwatch.config.settings import get_settings
    from hubwatch.text.attachments import AttachmentError, Limits, extract_attachment

    settings = get_settings()
    limits = Limits.from_settings(settings.attachments)
    name = Path(record["file"] or record["url"] or "").name
    record.update(file_type=kind, page_count=None, title=name)
    try:
        found = extract_attachment(body, kind, limits)
    except AttachmentError as exc:
        record.update(outcome=exc.outcome, error=exc.message)  # the outcome has its own field
        return record
    mentions = _matcher(settings.watchlist_file).find(name, found.text)
    record.update(text=found.text, page_count=found.page_count, outcome=Outcome.OK.value,
                  mentions=[{"entity": m.entity, "surface": m.surface, "start": m.start,
                             "end": m.end, "zone": m.zone} for m in mentions])
    return record


def _pool():
    """The parse workers of this command, bounded as in a crawl (``settings.parse``)."""
    from hubwatch.config.settings import get_settings
    from hubwatch.text.worker import ParseLimits, shared_pool

    return shared_pool(ParseLimits.from_settings(get_settings().parse, workers=1))


def _bounded_parse(res, tz: str):
    """``hubwatch.pipeline.paging.parse`` in a parse worker."""
    return _pool().parse(res.body, url=res.final_url, content_type=res.headers.get("content-type"),
                         fetched_at=res.fetched_at, site_timezone=tz).page


@lru_cache(maxsize=2)
def _matcher(watchlist_file):
    """One matcher per watch-list file for all the pages of a command (building one
    folds the whole watch-list)."""
    from hubwatch.config.watchlist import load_watchlist
    from hubwatch.mentions.match import Matcher

    return Matcher(load_watchlist(watchlist_file))


def status_tables(limit: int = 10, width: int = 80) -> list:
    """Recent crawl runs and per-source health, as rich tables that fit 80 columns (no side
    borders, short headers: a source slug of up to 20 characters still fits), then plain
    lines of at most ``width`` characters: how many documents are due for a recheck, and
    the cause of each failing source (``source_health``'s ``last_error_*`` columns)."""
    from sqlalchemy import text

    from hubwatch.models.db import get_engine

    runs = _narrow_table("Recent crawl runs")
    for col in ("run", "flow", "started (UTC)", "min", "status", "fetched", "new", "errors"):
        runs.add_column(col, no_wrap=True, justify="right" if col in _NUMERIC else "left")
    runs.caption = "min: minutes; new: new versions"
    health = _narrow_table("Sources (view source_health)")
    for col in ("source", "last ok (UTC)", "failed\nruns", "pages", "new", "failed",
                "no\ndate", "no\ntext"):
        health.add_column(col, no_wrap=True, justify="left" if col[0] in "sl" else "right")
    health.caption = ("failed runs: latest runs in a row with no success; others: latest run\n"
                      "*: inactive source (active: false), not crawled by the nightly run")
    causes: list[str] = []
    with get_engine().connect() as conn:
        for r in conn.execute(text(
                "SELECT id, flow_name, started_at, ended_at, run_status, counts FROM crawl_run "
                "ORDER BY id DESC LIMIT :n"), {"n": limit}):
            minutes = (f"{(r.ended_at - r.started_at).total_seconds() / 60:.1f}"
                       if r.ended_at else "-")
            runs.add_row(str(r.id), Text(r.flow_name), f"{r.started_at:%Y-%m-%d %H:%M}", minutes,
                         r.run_status, str(r.counts.get("pages_fetched", "-")),
                         str(r.counts.get("new_versions", "-")), str(r.counts.get("errors", "-")))
        # One definition of health: the analysts' view, not a query of our own.
        for r in conn.execute(text(_HEALTH)):
            health.add_row(Text(r.source + ("" if r.active else "*")),
                           f"{r.last_success_at:%Y-%m-%d %H:%M}" if r.last_success_at
                           else "never", str(r.consecutive_failures), str(r.last_run_pages),
                           str(r.new_versions), str(r.last_run_failures),
                           str(r.last_run_without_date),
                           str(r.last_run_without_text))
            if r.last_error_outcome and _failing(r):
                causes += cause_lines(r.source, r.last_error_outcome, r.last_error_message,
                                      r.last_error_at, width)
        due, tracked = conn.execute(text(
            "SELECT count(*) FILTER (WHERE next_check_at IS NULL OR next_check_at <= now()), "
            "count(*) FROM document WHERE gone_at IS NULL")).one()
    lines = [f"Rechecks due now: {due} of {tracked} documents tracked (not gone)."]
    if causes:
        lines += ["Why sources fail (last failed fetch):", *causes]
    return [runs, health, *lines]


def _failing(r) -> bool:
    """A cause is worth a line while the source is failing: no success since its last
    failed fetch, or failures in its last run."""
    return (r.last_success_at is None or r.last_error_at >= r.last_success_at
            or r.last_run_failures > 0)


def cause_lines(source: str, outcome: str, message: str | None, at: dt.datetime,
                width: int = 80, max_lines: int = 3) -> list[str]:
    """One source's cause as lines of at most ``width`` characters:
    ``source: outcome at YYYY-MM-DD HH:MM UTC: message``, wrapped with a two-space
    indent, at most ``max_lines`` lines (the rest cut with an ellipsis; the message is
    whole in ``source_health.last_error_message``)."""
    import textwrap

    when = at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    line = f"{source}: {outcome} at {when} UTC: " + " ".join((message or "no detail").split())
    return textwrap.wrap(line, width=width, subsequent_indent="  ", max_lines=max_lines,
                         placeholder=" …", break_on_hyphens=False)


_NUMERIC = ("run", "min", "fetched", "new", "errors")


def _narrow_table(title: str) -> Table:
    # No borders and no outer padding: two spaces between columns is all the frame.
    return Table(title=title, box=None, pad_edge=False, caption_justify="left",
                 title_justify="left", header_style="bold underline")


_HEALTH = """
SELECT h.*, (SELECT count(*) FROM snapshot sn JOIN source s ON s.id = sn.source_id
             WHERE s.slug = h.source AND sn.crawl_run_id = h.last_run_id AND sn.new_version)
            AS new_versions
FROM source_health h ORDER BY h.source
"""
