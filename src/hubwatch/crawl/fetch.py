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
import logging
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
    GZIP_MAGIC,
    ContentDecodingError,
    StreamEnd,
    binary_content_type,
    decode_stream,
    gunzip,
    sniff_binary,
)
from hubwatch.crawl.netguard import (
    GuardedTransport,
    blocked_cause,
    guarded,
    is_internal,
    resolve,
    unresolved_cause,
)
from hubwatch.crawl.robots import ROBOTS_MAX_BYTES, RobotsPolicy, policy_from_fetch, robots_token
from hubwatch.crawl.stubs import stub_target
from hubwatch.crawl.urls import same_site_host
from hubwatch.outcomes import Outcome

log = logging.getLogger(__name__)
#: The reason recorded for a fetch cut short by ``Fetcher.cancel()``.
CANCELLED = "run cancelled before this fetch ended"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
Expect = Literal["page", "feed", "robots", "any"]
#: ``gate(host, site_delay)``: held around each request; ``site_delay`` is the spacing in
#: seconds the host's robots.txt asks for (Crawl-delay, Request-rate), None if unknown.
HostGate = Callable[[str, float | None], AbstractContextManager]


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
    note: str | None = None  # a warning on a body that was read (kept in ``error``)


@dataclass
class _Wire:
    """What arrived of one body on the wire: bytes received against Content-Length."""

    expected: int | None
    received: int = 0
    short: bool = False  # the connection closed before ``expected`` bytes

    def cause(self) -> str:
        return f"truncated: {self.received} of {self.expected} bytes"


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length", "").split(",")[0].strip()
    return int(value) if value.isdigit() else None


@dataclass
class _Host:
    next_slot: float = 0.0  # time.monotonic() when the next request may start
    last_start: float = float("-inf")  # time.monotonic() of the last request's slot
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

        def client(http2: bool) -> httpx.Client:
            return httpx.Client(
                transport=transport or GuardedTransport(limits=limits, http2=http2, ca_file=s.ca_file),
                follow_redirects=False, trust_env=False,
                timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
                headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate, br, zstd",
                         "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})

        # HTTP/2 where offered; HTTP/1.1 for hosts that break it (``_send``). A test
        # transport serves both.
        self._client = client(s.http2 and transport is None)
        self._client_h1 = client(False) if s.http2 and transport is None else self._client
        #: Hosts asked over HTTP/1.1 for the rest of the run after an HTTP/2 protocol error.
        self._http1_hosts: set[str] = set()
        self._gate = host_gate
        #: The robots.txt token: as configured, else the configured User-Agent's product name.
        self.robots_agent = (s.robots_agent if "robots_agent" in s.model_fields_set
                             else robots_token(s.user_agent, s.robots_agent))
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}
        self._internal: dict[str, bool] = {}
        #: Host names whose resolution failed this run, with the cause: not asked again
        #: (an offline run would otherwise spend retries and backoff on every host).
        self._unresolved: dict[str, str] = {}
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
        """Close the connection pools."""
        self._client.close()
        self._client_h1.close()

    @property
    def http1_hosts(self) -> frozenset[str]:
        """Hosts moved to HTTP/1.1 this run after an HTTP/2 protocol error."""
        with self._lock:
            return frozenset(self._http1_hosts)

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
        """The spacing (seconds) the robots.txt files seen for ``host`` (``host[:port]``)
        ask of our agent: the larger of ``Crawl-delay`` and ``Request-rate``'s interval,
        capped at ``max_crawl_delay``; None if they ask for none."""
        with self._lock:
            policies = [p for o, p in self._robots.items() if host_key(o) == host.lower()]
        delays = [d for p in policies if (d := p.site_delay(self.robots_agent)) is not None]
        return min(max(delays), self.settings.max_crawl_delay) if delays else None

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
        if not same_site_host(host, c.allowed_hosts):  # other editions of an allowed site pass
            return self._done(c, url, Outcome.BLOCKED_REDIRECT, f"host {host} is outside the allowed hosts")
        if url != c.url and not c.allow_internal and self._is_internal(url):
            return self._done(c, url, Outcome.BLOCKED_REDIRECT, f"{host} resolves to an internal address")
        refused = self._host_refusal(c, url)
        if refused is None and c.check_robots:
            policy = self._robots_policy(c, url)
            if not policy.allows(url, self.robots_agent):
                why = policy.reason or f"disallowed by robots.txt for {self.robots_agent}"
                refused = self._done(c, url, Outcome.ROBOTS, why)
        return refused

    def _host_refusal(self, c: _Call, url: str) -> FetchResult | None:
        with self._lock:
            st = self._hosts.get(host_key(url)) or _Host()
            skipped, paused = st.skipped, st.paused_until
            unresolved = self._unresolved.get((urlsplit(url).hostname or "").lower())
        if unresolved:
            return self._done(c, url, Outcome.NETWORK_ERROR,
                              f"{unresolved} (name resolution failed earlier this run: not retried)")
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

    def _remember_unresolved(self, host: str, why: str) -> None:
        with self._lock:
            self._unresolved.setdefault(host.lower(), why)

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
                if (unresolved := unresolved_cause(exc)) is not None:
                    # A name that did not resolve will not in the next seconds either:
                    # no retry, and no later request to the host this run.
                    self._remember_unresolved(urlsplit(url).hostname or "", str(unresolved))
                    return self._done(c, url, Outcome.NETWORK_ERROR, str(unresolved))
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
        site_gap = self.crawl_delay(host) or 0.0
        gap = max(gap, site_gap)
        with self._lock:
            st, now = self._host(host), time.monotonic()
            # The site's delay counts from the last request, also one made before its
            # robots.txt was read (the robots.txt request itself).
            slot = max(now, st.next_slot, st.last_start + site_gap)
            st.next_slot = slot + gap
            st.last_start = slot
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
        """One request: over HTTP/2 when the host offers it, falling back to HTTP/1.1
        once for this URL and for the host's later requests this run when HTTP/2 breaks
        (a stream reset, a protocol error: RFC 9113 §8.1 lets a client retry a request
        the server refused unprocessed; a GET is safe to repeat)."""
        host = host_key(url)
        with self._lock:
            h1 = host in self._http1_hosts
        if self._client is not self._client_h1 and not h1:
            try:
                return self._send_on(self._client, c, url, host)
            except httpx.ProtocolError as exc:
                if blocked_cause(exc) is not None:
                    raise
                with self._lock:
                    self._http1_hosts.add(host)
                log.info("%s: HTTP/2 failed (%s: %s); HTTP/1.1 for this host from now on",
                         host, type(exc).__name__, exc)
        return self._send_on(self._client_h1, c, url, host)

    def _send_on(self, client: httpx.Client, c: _Call, url: str, host: str) -> _Response | FetchResult:
        deadline = time.monotonic() + self.settings.total_deadline
        gate = self._gate(host, self.crawl_delay(host)) if self._gate else nullcontext()
        with gate, guarded(deadline, c.allow_internal), \
                client.stream("GET", url, headers=c.headers) as r:
            resp = _Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, b"",
                             datetime.now(UTC))
            if 200 <= resp.status < 300 or 400 <= resp.status < 500 and resp.status != 429:
                return self._read_body(c, url, r, resp, deadline)
            return resp

    def _read_body(self, c: _Call, url: str, r: httpx.Response, resp: _Response,
                   deadline: float) -> _Response | FetchResult:
        """Read, decode and judge the body by its bytes (see ``_judge_body``)."""
        ok = 200 <= resp.status < 300
        media = binary_content_type(resp.headers.get("content-type"))
        if ok and c.expect == "page" and media:
            return self._done(c, url, Outcome.BINARY, f"binary content type {media}", resp=resp)
        wire = _Wire(_content_length(resp.headers))
        if r.is_stream_consumed:  # built from bytes by a test transport: httpx decoded it already
            chunks, coding = iter([r.content]), None
        else:
            chunks, coding = self._raw(r, deadline, wire), resp.headers.get("content-encoding")
        judged = self._judge_body(c, url, resp, chunks, coding, wire)
        if isinstance(judged, FetchResult) and resp.status in (404, 410):
            # The status decides: a removed page is gone whatever its body.
            resp.body = b""
            return resp
        return judged

    def _judge_body(self, c: _Call, url: str, resp: _Response, chunks: Iterator[bytes],
                    coding: str | None, wire: _Wire) -> _Response | FetchResult:
        """Decode within the cap, trusting the bytes over the labels: a Content-Encoding
        the body contradicts is not applied; a gzip body (magic bytes) with no label, or
        still gzip after its label was undone, is inflated for pages and feeds alike
        (sitemap.xml.gz); a body shorter than its Content-Length is kept only
        when its compressed stream is complete (gzip's CRC and length trailer checked),
        else ``network_error`` "truncated: N of M bytes"."""
        ok = 200 <= resp.status < 300
        notes: list[str] = []
        end, inner_end = StreamEnd(), StreamEnd()
        try:
            body = self._bounded(decode_stream(chunks, coding, end, notes), c.max_bytes)
            if ok and c.expect in ("page", "feed") and body.startswith(GZIP_MAGIC):
                body = self._bounded(gunzip([body], inner_end), c.max_bytes)
                notes.append("gzip body inflated (no Content-Encoding said so)" if end.complete is None
                             else "gzip body inside its Content-Encoding inflated")
        except _TooLarge as big:
            # Only robots.txt uses a truncated body (RFC 9309 §2.5); elsewhere it would just hold memory.
            resp.body = big.head if c.expect == "robots" else b""
            return self._done(c, url, Outcome.TOO_LARGE,
                              f"body over {c.max_bytes} bytes after decompression", resp=resp)
        except ContentDecodingError as exc:
            if wire.short:  # cut off inside the compressed stream: the cause is the cut
                return self._done(c, url, Outcome.NETWORK_ERROR, wire.cause(), resp=resp)
            return self._done(c, url, Outcome.DECODE_ERROR, str(exc), resp=resp)
        if wire.short:
            complete = inner_end.complete if inner_end.complete is not None else end.complete
            if not complete:
                return self._done(c, url, Outcome.NETWORK_ERROR, wire.cause(), resp=resp)
            notes.append(f"{wire.cause()}, but the compressed stream is complete: kept")
        resp.body = body
        resp.note = "; ".join(notes) or None
        kind = sniff_binary(body[:16]) if ok and c.expect in ("page", "feed") else None
        if kind:
            resp.body = b""
            return self._done(c, url, Outcome.BINARY, f"{kind} served as {resp.headers.get('content-type')}",
                              resp=resp)
        return resp

    @staticmethod
    def _raw(r: httpx.Response, deadline: float, wire: _Wire) -> Iterator[bytes]:
        try:
            for chunk in r.iter_raw():
                wire.received += len(chunk)
                yield chunk
                if time.monotonic() > deadline:  # the socket guard is absent with a custom transport
                    raise httpx.ReadTimeout("total deadline for the page exceeded")
        except httpx.RemoteProtocolError:
            # The connection closed before Content-Length bytes arrived: what did arrive is
            # judged by the caller (a complete gzip stream is kept).
            if wire.expected is None or wire.received >= wire.expected:
                raise
            wire.short = True

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
            return self._done(c, url, Outcome.OK, resp.note, resp=resp)
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
