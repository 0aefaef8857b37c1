"""WARC files as fetches: each archived HTTP response is treated as a fetch made at its
``WARC-Date`` (ISO 28500), so backfills and live crawls share one code path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from hubwatch.crawl.fetch import FetchResult
from hubwatch.outcomes import Outcome


class WarcError(ValueError):
    """A WARC file that cannot be opened or read to its end."""


def outcome_for_status(status: int | None) -> Outcome:
    """The snapshot outcome of an archived HTTP status."""
    if status is None:
        return Outcome.NETWORK_ERROR
    if status == 304:
        return Outcome.NOT_MODIFIED
    if status in (404, 410):
        return Outcome.GONE
    if 200 <= status < 300:
        return Outcome.OK
    return Outcome.HTTP_ERROR


def read_warc(path: str | Path, max_bytes: int = 20 * 1024 * 1024) -> Iterator[FetchResult]:
    """Yield one FetchResult per ``response`` record of ``path`` (gzip or plain).

    ``fetched_at`` is the record's WARC-Date (UTC). Bodies are de-chunked and
    de-compressed by warcio, and cut at ``max_bytes`` (outcome ``too_large``).

    Raises:
        WarcError: the file cannot be opened or is corrupt part-way (records read before
            the fault were yielded).
    """
    try:
        stream = open(path, "rb")
    except OSError as exc:
        raise WarcError(f"{path}: {exc}") from exc
    with stream:
        try:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response" and record.http_headers is not None:
                    yield _to_fetch(record, max_bytes)
        except Exception as exc:  # warcio raises several types on a corrupt file
            if isinstance(exc, GeneratorExit):
                raise
            raise WarcError(f"{path}: unreadable WARC record: {exc}") from exc


def count_responses(path: str | Path) -> int | None:
    """How many records ``read_warc`` would yield (a progress total), or None when the
    file cannot be read to its end (``read_warc`` then reports why)."""
    try:
        with open(path, "rb") as stream:
            return sum(1 for r in ArchiveIterator(stream)
                       if r.rec_type == "response" and r.http_headers is not None)
    except Exception:  # warcio raises several types on a corrupt file
        return None


def _to_fetch(record, max_bytes: int) -> FetchResult:
    url = record.rec_headers.get_header("WARC-Target-URI")
    when = dt.datetime.fromisoformat(record.rec_headers.get_header("WARC-Date")
                                     .replace("Z", "+00:00")).astimezone(dt.UTC)
    status = int(record.http_headers.get_statuscode() or 0) or None
    headers = {k.lower(): v for k, v in record.http_headers.headers}
    body = record.content_stream().read(max_bytes + 1)
    outcome, error = outcome_for_status(status), None
    if len(body) > max_bytes:
        outcome, error, body = Outcome.TOO_LARGE, f"archived body over {max_bytes} bytes", b""
    return FetchResult(
        url=url, final_url=url, status=status, headers=headers, body=body, outcome=outcome,
        error=error, attempts=1, fetched_at=when, elapsed_seconds=0.0, redirects=[],
        etag=headers.get("etag"), last_modified=headers.get("last-modified"))

