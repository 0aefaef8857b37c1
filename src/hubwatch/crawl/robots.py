"""robots.txt per RFC 9309: parsing (with protego) and what a fetch of it means.

The fetching itself is done by ``hubwatch.crawl.fetch.Fetcher``, which caches one
``RobotsPolicy`` per origin (scheme, host, port) for the life of the Fetcher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from protego import Protego

from hubwatch.outcomes import Outcome

if TYPE_CHECKING:
    from hubwatch.crawl.fetch import FetchResult

#: RFC 9309 §2.5: crawlers must parse at least the first 500 KiB.
ROBOTS_MAX_BYTES = 500 * 1024

_BOM = b"\xef\xbb\xbf"


def parse_robots(body: bytes) -> Protego:
    """Parse a robots.txt body (bytes as served) into protego rules.

    A UTF-8 byte-order mark is stripped first: left in place it glues itself to
    the first line, so the first ``User-agent`` group and its rules would be
    silently lost. The body is UTF-8 per RFC 9309 §2.3; invalid bytes
    become U+FFFD rather than failing the whole file.
    """
    if body.startswith(_BOM):
        body = body[len(_BOM):]
    return Protego.parse(body.decode("utf-8", errors="replace"))


@dataclass(frozen=True)
class RobotsPolicy:
    """The rules for one origin this run.

    ``state``: ``rules`` (a parsed file), ``allow_all`` (4xx: RFC 9309 §2.3.1.3
    "unavailable", or too many redirects, §2.3.1.2) or ``unreachable`` (5xx, 429,
    network failure: §2.3.1.4, the origin is not crawled this run).
    """

    state: Literal["rules", "allow_all", "unreachable"]
    reason: str | None = None
    parser: Protego | None = field(default=None, compare=False)

    def allows(self, url: str, agent: str) -> bool:
        """True when ``agent`` may fetch ``url`` (always False when unreachable)."""
        if self.state == "unreachable":
            return False
        return self.parser is None or self.parser.can_fetch(url, agent)

    def crawl_delay(self, agent: str) -> float | None:
        """The ``Crawl-delay`` (seconds) for ``agent``, or None (not in RFC 9309; a de-facto rule)."""
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        return float(delay) if delay is not None else None

    def request_interval(self, agent: str) -> float | None:
        """Seconds per request from ``Request-rate: N/Ts`` for ``agent`` (T / N), or None
        (a de-facto extension, like Crawl-delay; a time-of-day window is ignored)."""
        if self.parser is None:
            return None
        rate = self.parser.request_rate(agent)
        if rate is None or not rate.requests:
            return None
        return float(rate.seconds) / float(rate.requests)

    def site_delay(self, agent: str) -> float | None:
        """The spacing the site asks of ``agent``: the larger of ``Crawl-delay`` and the
        interval implied by ``Request-rate``, seconds; None when it asks for neither."""
        asked = [d for d in (self.crawl_delay(agent), self.request_interval(agent)) if d is not None]
        return max(asked) if asked else None

    def sitemaps(self) -> list[str]:
        """``Sitemap:`` URLs listed in the file (absolute, as written)."""
        return list(self.parser.sitemaps) if self.parser is not None else []


_PRODUCT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def robots_token(user_agent: str | None, default: str = "hubwatch") -> str:
    """The product token matched against robots.txt ``User-agent`` lines for a
    configured User-Agent header (RFC 9309 §2.2.1: the crawler's name, letters, ``-``
    and ``_``). ``Mozilla/5.0 (compatible; Name/1.0; +url)`` gives ``Name``; ``Name/1.0
    (...)`` gives ``Name``; no usable token gives ``default``."""
    ua = (user_agent or "").strip()
    compatible = re.search(r"compatible;\s*([^;/\s)]+)", ua, re.I)
    candidate = compatible.group(1) if compatible else ua.split("/", 1)[0].split(" ", 1)[0]
    match = _PRODUCT.fullmatch(candidate or "")
    return match.group(0) if match and candidate.lower() != "mozilla" else default


def policy_from_fetch(result: FetchResult) -> RobotsPolicy:
    """Turn the fetch of ``/robots.txt`` into the policy RFC 9309 §2.3.1 prescribes."""
    outcome, status = result.outcome, result.status
    if outcome == Outcome.OK or outcome == Outcome.TOO_LARGE:
        # Over the size cap: parse what was read (§2.5 only requires the first 500 KiB).
        return RobotsPolicy("rules", parser=parse_robots(result.body))
    if status is not None and 400 <= status < 500 and status != 429:
        return RobotsPolicy("allow_all", f"robots.txt unavailable (HTTP {status}): no restrictions")
    if outcome in (Outcome.REDIRECT_LOOP, Outcome.BLOCKED_REDIRECT):
        return RobotsPolicy("allow_all", f"robots.txt unavailable ({result.error}): no restrictions")
    why = f"HTTP {status}" if status is not None else (result.error or str(outcome))
    return RobotsPolicy("unreachable", f"robots.txt unreachable ({why}): host not crawled this run")
