"""Bounded, polite fetching: one ``Fetcher`` per flow run, safe to share between threads.

Every failure is a ``FetchResult`` with an ``Outcome`` and a reason, never an
exception: a nightly run over misbehaving servers must go on. What bounds a fetch:
connect/read timeouts and a total deadline (``hubwatch.crawl.netguard``), a body cap counted
after decompression (``hubwatch.crawl.bounded``), a redirect limit with loop detection,
allowed hosts and no pivoting to internal addresses, magic-byte sniffing,
robots.txt (RFC 9309, ``hubwatch.crawl.robots``), retries with backoff honouring
Retry-After (RFC 9110 §10.2.3), a per-host delay and a per-host circuit breaker.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from hubwatch.config.settings import FetchSettings
from hubwatch.crawl.bounded import (
    ContentDecodingError,
    binary_content_type,
    decode_stream,
    gunzip,
    sniff_binary,
)
from hubwatch.crawl.netguard import GuardedTransport, blocked_cause, guarded, is_internal, resolve
from hubwatch.crawl.robots import ROBOTS_MAX_BYTES, RobotsPolicy, policy_from_fetch
from hubwatch.crawl.stubs import stub_target
from hubwatch.outcomes import Outcome

#: The reason recorded for a fetch cut short by ``Fetcher.cancel()``.
CANCELLED = "run cancelled before this fetch ended"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
Expect = Literal["page", "feed", "robots", "any"]
HostGate = Callable[[str], AbstractContextManager]


@dataclass(frozen=True)
class FetchResult:
    """What one ``Fetcher.fetch`` call produced (see docs/design.md)."""

    url: str
    final_url: str
    status: int | None
    headers: dict[str, str]
    body: bytes
    outcome: Outcome
    error: str | None
    attempts: int
    fetched_at: datetime
    elapsed_seconds: float
    redirects: list[str]
    etag: str | None
    last_modified: str | None
    #: For ``deferred``: the UTC time before which the host must not be asked again.
    retry_at: datetime | None = None


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime


@dataclass
class _Host:
    next_slot: float = 0.0  # time.monotonic() when the next request may start
    failures: int = 0  # consecutive connection failures
    skipped: str | None = None  # why the breaker opened
    paused_until: datetime | None = None  # a Retry-After over the cap


@dataclass
class _Call:
    url: str
    allowed_hosts: frozenset[str]
    headers: dict[str, str]
    delay: float | None
    check_robots: bool
    expect: Expect
    max_bytes: int
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0
    redirects: list[str] = field(default_factory=list)
    allow_internal: bool = False


def host_key(url: str) -> str:
    """``host`` or ``host:port`` (port only when not the scheme's default), lower-case."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, either delay-seconds or an
    HTTP-date (RFC 9110 §10.2.3), relative to ``now`` (aware). None if absent or
    unparseable; a date in the past gives 0."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _strip_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"


class Fetcher:
    """Fetches pages within bounds; use as a context manager (closes the client).

    ``transport`` replaces the guarded network transport (tests use
    ``httpx.MockTransport``; the socket-level deadline and address guard then do
    not apply, the body deadline and all other rules still do). ``host_gate(host)``
    returns a context manager held around each request, for politeness across
    processes. Thread-safe: one instance may serve a thread pool.
    """

    def __init__(self, settings: FetchSettings | None = None, *,
                 transport: httpx.BaseTransport | None = None, host_gate: HostGate | None = None) -> None:
        self.settings = s = settings or FetchSettings()
        limits = httpx.Limits(max_connections=s.max_connections, max_keepalive_connections=s.max_connections)
        self._client = httpx.Client(
            transport=transport or GuardedTransport(limits=limits), follow_redirects=False,
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout), trust_env=False,
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate, br, zstd",
                     "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
        self._gate = host_gate
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}
        self._internal: dict[str, bool] = {}
        self._robots: dict[str, RobotsPolicy] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._stopped = threading.Event()

    def cancel(self) -> None:
        """Stop: fetches in flight end at once (their sockets are shut down), later ones
        are not sent; both return ``network_error`` with the reason ``CANCELLED``.
        Waits between requests and retries are cut short. Safe from a signal handler."""
        self._stopped.set()
        backend = getattr(self._client._transport, "backend", None)
        if backend is not None:
            backend.abort_all()

    @property
    def cancelled(self) -> bool:
        return self._stopped.is_set()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def fetch(self, url: str, *, allowed_hosts: set[str] | frozenset[str], etag: str | None = None,
              last_modified: str | None = None, headers: dict[str, str] | None = None,
              delay: float | None = None, check_robots: bool = True, expect: Expect = "page",
              max_bytes: int | None = None) -> FetchResult:
        """GET ``url`` following redirects within ``allowed_hosts`` (``host`` or ``host:port``).

        ``etag``/``last_modified`` make it a conditional GET; ``headers`` are extra
        request headers; ``delay`` (seconds) overrides the per-host delay; ``expect``
        says what the body should be (``page``: binary bodies refused; ``feed``: a
        gzip body, e.g. ``sitemap.xml.gz``, is inflated; ``robots``/``any``: as is);
        ``max_bytes`` overrides the size cap. Never raises for network or HTTP faults.
        """
        extra = dict(headers or {})
        if etag:
            extra["If-None-Match"] = etag
        if last_modified:
            extra["If-Modified-Since"] = last_modified
        c = _Call(url, frozenset(h.lower() for h in allowed_hosts), extra, delay, check_robots, expect,
                  max_bytes or self.settings.max_bytes)
        if self._stopped.is_set():
            return self._done(c, url, Outcome.NETWORK_ERROR, CANCELLED)
        try:
            c.allow_internal = self._is_internal(url)
            return self._follow(c)
        except (httpx.InvalidURL, ValueError) as exc:  # malformed URL, e.g. an unclosed "[" or bad IDNA
            return self._done(c, url, Outcome.NETWORK_ERROR, f"invalid URL: {exc}")
        except Exception as exc:  # a bug of ours or a library's: a result all the same (issue 16)
            return self._done(c, url, Outcome.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"[:2000])

    def crawl_delay(self, host: str) -> float | None:
        """The robots.txt ``Crawl-delay`` (seconds) seen for ``host`` (``host[:port]``), if any."""
        with self._lock:
            policies = [p for o, p in self._robots.items() if host_key(o) == host.lower()]
        delays = [d for p in policies if (d := p.crawl_delay(self.settings.robots_agent)) is not None]
        return max(delays) if delays else None

    def robots_sitemaps(self, host: str) -> list[str]:
        """``Sitemap:`` URLs of the robots.txt files fetched so far for ``host``."""
        with self._lock:
            policies = [p for o, p in self._robots.items() if host_key(o) == host.lower()]
        return [url for p in policies for url in p.sitemaps()]

    # -- redirects and refusals -------------------------------------------------

    def _follow(self, c: _Call) -> FetchResult:
        current, seen = c.url, {_strip_fragment(c.url)}
        for _ in range(self.settings.max_redirects + 1):
            refused = self._refuse(c, current)
            if refused is not None:
                return refused
            resp = self._with_retries(c, current)
            if isinstance(resp, FetchResult):
                return resp
            location = resp.headers.get("location", "").strip()
            if resp.status not in REDIRECT_STATUSES or not location:
                # A redirect stub (meta refresh, location script) is followed like a 3xx.
                location = stub_target(resp.body, current) if c.expect == "page" and resp.status == 200 else None
                if not location:
                    return self._final(c, current, resp)
            nxt = _strip_fragment(urljoin(current, location))
            c.redirects.append(current)
            if nxt in seen:
                return self._done(c, nxt, Outcome.REDIRECT_LOOP, f"redirect loop: {nxt} visited twice")
            seen.add(nxt)
            current = nxt
        return self._done(c, current, Outcome.REDIRECT_LOOP,
                          f"more than {self.settings.max_redirects} redirects")

    def _refuse(self, c: _Call, url: str) -> FetchResult | None:
        """Why ``url`` must not be requested in this call, as a result, or None."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return self._done(c, url, Outcome.BLOCKED_REDIRECT, f"not an http(s) URL: {url}")
        host = host_key(url)
        if host not in c.allowed_hosts:
            return self._done(c, url, Outcome.BLOCKED_REDIRECT, f"host {host} is outside the allowed hosts")
        if url != c.url and not c.allow_internal and self._is_internal(url):
            return self._done(c, url, Outcome.BLOCKED_REDIRECT, f"{host} resolves to an internal address")
        refused = self._host_refusal(c, url)
        if refused is None and c.check_robots:
            policy = self._robots_policy(c, url)
            if not policy.allows(url, self.settings.robots_agent):
                why = policy.reason or f"disallowed by robots.txt for {self.settings.robots_agent}"
                refused = self._done(c, url, Outcome.ROBOTS, why)
        return refused

    def _host_refusal(self, c: _Call, url: str) -> FetchResult | None:
        with self._lock:
            st = self._hosts.get(host_key(url)) or _Host()
            skipped, paused = st.skipped, st.paused_until
        if skipped:
            return self._done(c, url, Outcome.HOST_SKIPPED, skipped)
        if paused and paused > datetime.now(UTC):
            return self._done(c, url, Outcome.DEFERRED, f"host paused until {paused.isoformat()}",
                              retry_at=paused)
        return None

    def _is_internal(self, url: str) -> bool:
        host = urlsplit(url).hostname
        if not host:
            return False
        with self._lock:
            known = self._internal.get(host)
        if known is None:
            try:
                known = any(is_internal(a) for a in resolve(host, 0))
            except (OSError, ValueError, UnicodeError):
                known = False  # unresolvable: the request itself will fail and say so
            with self._lock:
                self._internal[host] = known
        return known

    def _robots_policy(self, c: _Call, url: str) -> RobotsPolicy:
        origin = _origin(url)
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:  # one fetch of robots.txt per origin, however many threads ask
            policy = self._robots.get(origin)
            if policy is None:
                res = self.fetch(origin + "/robots.txt", allowed_hosts=c.allowed_hosts, delay=c.delay,
                                 check_robots=False, expect="robots", max_bytes=ROBOTS_MAX_BYTES)
                policy = policy_from_fetch(res)
                with self._lock:
                    self._robots[origin] = policy
        return policy

    # -- one request with retries --------------------------------------------------

    def _with_retries(self, c: _Call, url: str) -> _Response | FetchResult:
        s, host = self.settings, host_key(url)
        for attempt in range(s.retries + 1):
            if self._stopped.is_set():
                return self._done(c, url, Outcome.NETWORK_ERROR, CANCELLED)
            if attempt and (refused := self._host_refusal(c, url)) is not None:
                return refused
            self._wait_turn(host, c.delay)
            c.attempts += 1
            try:
                resp = self._send(c, url)
            except httpx.TransportError as exc:
                if (blocked := blocked_cause(exc)) is not None:
                    return self._done(c, url, Outcome.BLOCKED_REDIRECT, str(blocked))
                self._connection_failed(host, exc)
                if isinstance(exc, httpx.TimeoutException):  # not retried: a hang would cost N x the bound
                    return self._done(c, url, Outcome.TIMEOUT, self._timeout_reason(exc))
                if attempt == s.retries:
                    return self._done(c, url, Outcome.NETWORK_ERROR,
                                      f"{type(exc).__name__}: {exc or 'no detail'} ({c.attempts} attempts)")
                self._stopped.wait(self._backoff(attempt))  # a sleep that cancel() cuts short
                continue
            self._connection_ok(host)
            if isinstance(resp, FetchResult) or not (resp.status == 429 or resp.status >= 500):
                return resp
            wait = parse_retry_after(resp.headers.get("retry-after"), datetime.now(UTC))
            if wait is not None and wait > s.max_retry_wait:
                return self._defer(c, url, resp, wait)
            if attempt == s.retries:
                return self._done(c, url, Outcome.HTTP_ERROR, f"HTTP {resp.status} after {c.attempts} attempts",
                                  resp=resp)
            self._push_back(host, wait if wait is not None else self._backoff(attempt))
        raise AssertionError("unreachable")  # the loop always returns on its last attempt

    def _timeout_reason(self, exc: httpx.TimeoutException) -> str:
        s = self.settings
        return (f"{type(exc).__name__}: {exc or 'timed out'} (limits: connect {s.connect_timeout:g} s, "
                f"read {s.read_timeout:g} s, whole page {s.total_deadline:g} s)")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _defer(self, c: _Call, url: str, resp: _Response, wait: float) -> FetchResult:
        until = datetime.now(UTC) + timedelta(seconds=wait)
        with self._lock:  # pause the whole host, not only this URL: Retry-After speaks for the server
            self._host(host_key(url)).paused_until = until
        why = (f"HTTP {resp.status} Retry-After {wait:.0f} s exceeds the {self.settings.max_retry_wait:.0f} s cap;"
               f" host paused until {until.isoformat()}")
        return self._done(c, url, Outcome.DEFERRED, why, resp=resp, retry_at=until)

    # -- per-host state ----------------------------------------------------------------

    def _host(self, host: str) -> _Host:
        return self._hosts.setdefault(host, _Host())

    def _wait_turn(self, host: str, delay: float | None) -> None:
        """Reserve the next slot for ``host`` and sleep until it (no lock held while sleeping)."""
        gap = self.settings.host_delay if delay is None else delay
        crawl_delay = self.crawl_delay(host)
        if crawl_delay:
            gap = max(gap, min(crawl_delay, self.settings.max_crawl_delay))
        with self._lock:
            st, now = self._host(host), time.monotonic()
            slot = max(now, st.next_slot)
            st.next_slot = slot + gap
        if slot > now:
            self._stopped.wait(slot - now)  # a sleep that cancel() cuts short

    def _push_back(self, host: str, seconds: float) -> None:
        with self._lock:
            st = self._host(host)
            st.next_slot = max(st.next_slot, time.monotonic() + seconds)

    def _connection_failed(self, host: str, exc: Exception) -> None:
        with self._lock:
            st = self._host(host)
            st.failures += 1
            if st.failures >= self.settings.breaker_threshold and not st.skipped:
                st.skipped = (f"host skipped for the rest of the run after {st.failures} connection "
                              f"failures in a row (last: {type(exc).__name__}: {exc or 'no detail'})")

    def _connection_ok(self, host: str) -> None:
        with self._lock:
            self._host(host).failures = 0

    # -- sending and reading -------------------------------------------------------------

    def _send(self, c: _Call, url: str) -> _Response | FetchResult:
        deadline = time.monotonic() + self.settings.total_deadline
        gate = self._gate(host_key(url)) if self._gate else nullcontext()
        with gate, guarded(deadline, c.allow_internal), \
                self._client.stream("GET", url, headers=c.headers) as r:
            resp = _Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, b"",
                             datetime.now(UTC))
            if 200 <= resp.status < 300 or 400 <= resp.status < 500 and resp.status != 429:
                return self._read_body(c, url, r, resp, deadline)
            return resp

    def _read_body(self, c: _Call, url: str, r: httpx.Response, resp: _Response,
                   deadline: float) -> _Response | FetchResult:
        ok = 200 <= resp.status < 300
        media = binary_content_type(resp.headers.get("content-type"))
        if ok and c.expect == "page" and media:
            return self._done(c, url, Outcome.BINARY, f"binary content type {media}", resp=resp)
        if r.is_stream_consumed:  # built from bytes by a test transport: httpx decoded it already
            chunks, coding = iter([r.content]), None
        else:
            chunks, coding = self._raw(r, deadline), resp.headers.get("content-encoding")
        try:
            body = self._bounded(decode_stream(chunks, coding), c.max_bytes)
            if ok and c.expect == "feed" and body.startswith(b"\x1f\x8b"):
                body = self._bounded(gunzip([body]), c.max_bytes)  # sitemap.xml.gz and the like
        except _TooLarge as big:
            # Only robots.txt uses a truncated body (RFC 9309 §2.5); elsewhere it would just hold memory.
            resp.body = big.head if c.expect == "robots" else b""
            return self._done(c, url, Outcome.TOO_LARGE,
                              f"body over {c.max_bytes} bytes after decompression", resp=resp)
        except ContentDecodingError as exc:
            return self._done(c, url, Outcome.DECODE_ERROR, str(exc), resp=resp)
        resp.body = body
        kind = sniff_binary(body[:16]) if ok and c.expect in ("page", "feed") else None
        if kind:
            resp.body = b""
            return self._done(c, url, Outcome.BINARY, f"{kind} served as {resp.headers.get('content-type')}",
                              resp=resp)
        return resp

    @staticmethod
    def _raw(r: httpx.Response, deadline: float) -> Iterator[bytes]:
        for chunk in r.iter_raw():
            yield chunk
            if time.monotonic() > deadline:  # the socket guard is absent with a custom transport
                raise httpx.ReadTimeout("total deadline for the page exceeded")

    @staticmethod
    def _bounded(chunks: Iterator[bytes], limit: int) -> bytes:
        buf = bytearray()
        for chunk in chunks:
            buf += chunk
            if len(buf) > limit:
                del buf[limit:]
                raise _TooLarge(bytes(buf))
        return bytes(buf)

    # -- results ---------------------------------------------------------------------------

    def _final(self, c: _Call, url: str, resp: _Response) -> FetchResult:
        status = resp.status
        if 200 <= status < 300:
            return self._done(c, url, Outcome.OK, None, resp=resp)
        if status == 304:
            return self._done(c, url, Outcome.NOT_MODIFIED, None, resp=resp)
        if status in (404, 410):
            return self._done(c, url, Outcome.GONE, f"HTTP {status}", resp=resp)
        reason = "redirect without Location" if status in REDIRECT_STATUSES else f"HTTP {status}"
        return self._done(c, url, Outcome.HTTP_ERROR, reason, resp=resp)

    def _done(self, c: _Call, url: str, outcome: Outcome, error: str | None, *,
              resp: _Response | None = None, retry_at: datetime | None = None) -> FetchResult:
        headers = resp.headers if resp else {}
        return FetchResult(
            url=c.url, final_url=url, status=resp.status if resp else None, headers=headers,
            body=resp.body if resp else b"", outcome=outcome, error=error, attempts=c.attempts,
            fetched_at=resp.fetched_at if resp else datetime.now(UTC),
            elapsed_seconds=time.monotonic() - c.started, redirects=list(c.redirects),
            etag=headers.get("etag"), last_modified=headers.get("last-modified"), retry_at=retry_at)


class _TooLarge(Exception):
    def __init__(self, head: bytes) -> None:
        super().__init__("too large")
        self.head = head
