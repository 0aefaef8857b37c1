"""A hostile local web site for reliability tests: ten normal articles among faults.

``FaultServer`` binds 127.0.0.1 on a free port (plus a second port, ``internal``,
standing for an internal service that must never be reached). Every request is
logged (path, time, client, headers) so tests can assert what was and was not
requested. Nothing large is held in memory: the 200 MB page is generated while
it is sent, and the compression bombs are built once per process.

Use it from any test::

    with FaultServer() as site:
        fetcher.fetch(site.url("/fault/drip"), allowed_hosts={site.host})
        assert not site.requested("/private/")

A crawl over the whole site (``/index.html``, ``/feed.xml``) should use a breaker
threshold above 10 and short timeouts: the reset, hang and drip faults are
consecutive connection failures by design. ``/fault/429-long`` pauses its host for
a day, so it is left out of ``CRAWL_FAULTS`` (it would defer the articles too).
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import hashlib
import socket
import struct
import tempfile
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli
import zstandard

BOMB_SIZE = 256 * 1024 * 1024  # decompressed size of each bomb: 12x the default 20 MB cap
HUGE_SIZE = 200 * 1024 * 1024
NESTED_DEPTH = 200_000
CHAIN_HOPS = 30

_TOPICS = [
    ("粤港澳大湾区跨境科研资金流动再提速", "Greater Bay Area", "粤港澳大湾区"),
    ("Yangtze River Delta firms pool lab equipment", "Yangtze River Delta", "长三角"),
    ("京津冀协同发展迈入新阶段", "Beijing-Tianjin-Hebei", "京津冀"),
    ("What the 15th Five-Year Plan asks of regional hubs", "15th Five-Year Plan", "十五五"),
    ("长三角一体化示范区发布新一批制度创新成果", "Yangtze River Delta", "长三角一体化"),
    ("Greater Bay Area universities open joint doctoral track", "Greater Bay Area", "大湾区"),
    ("“十五五”时期科技创新中心建设展望", "15th Five-Year Plan", "十五五"),
    ("Hebei logistics corridor links Beijing and Tianjin ports", "Beijing-Tianjin-Hebei", "京津冀"),
    ("粤港澳大湾区国际科技创新中心建设观察", "Greater Bay Area", "粤港澳大湾区"),
    ("Yangtze River Delta green finance pilot expands", "Yangtze River Delta", "长三角"),
]


def article_html(n: int) -> bytes:
    """Article ``n`` (1-10): a title and a few paragraphs naming one hub."""
    title, en, zh = _TOPICS[n - 1]
    paras = [
        f"This report, number {n} in a series written for hubwatch's tests, follows policy news about the {en}.",
        f"本文关注{zh}的最新政策动向，以及地方政府发布的配套措施。",
        f"Officials said the measures for the {en} would be reviewed each year, with results published online.",
        "Analysts expect further guidance once the planning documents are finalised later this year.",
    ]
    body = "".join(f"<p>{p}</p>\n" for p in paras)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<meta name=\"date\" content=\"2025-06-{n + 10:02d}T09:00:00+08:00\"></head>\n"
            f"<body><nav><a href=\"/index.html\">Home</a></nav>\n<article><h1>{title}</h1>\n{body}"
            f"</article>\n<footer>Test site footer</footer></body></html>\n").encode()


ARTICLES = [f"/articles/{n}.html" for n in range(1, 11)]


@dataclass(frozen=True)
class Fault:
    """One faulty endpoint: its path, what it does, the fetch outcome (test settings)
    and the outcome a full crawl should record for it."""

    path: str
    what: str
    fetch_outcome: str
    crawl_outcome: str


FAULTS = [
    Fault("/fault/500", "always HTTP 500", "http_error", "http_error"),
    Fault("/fault/503-then-ok", "HTTP 503 once, then the article", "ok", "ok"),
    Fault("/fault/429-seconds", "HTTP 429 with Retry-After: 1, then the article", "ok", "ok"),
    Fault("/fault/429-date", "HTTP 429 with Retry-After as an HTTP-date 2 s ahead, then the article", "ok", "ok"),
    Fault("/fault/429-long", "HTTP 429 with Retry-After: 86400", "deferred", "deferred"),
    Fault("/fault/drip", "body dripped at 1 byte per second", "timeout", "timeout"),
    Fault("/fault/drip-headers", "status line and headers dripped at 1 byte per second", "timeout", "timeout"),
    Fault("/fault/hang", "reads the request, never answers", "timeout", "timeout"),
    Fault("/fault/reset", "reads the request, resets the connection (RST)", "network_error", "network_error"),
    Fault("/fault/huge", "a 200 MB HTML page", "too_large", "too_large"),
    Fault("/fault/bomb-gzip", "gzip bomb (256 MB of zeros)", "too_large", "too_large"),
    Fault("/fault/bomb-deflate", "deflate bomb (256 MB of zeros)", "too_large", "too_large"),
    Fault("/fault/bomb-br", "brotli bomb (256 MB of zeros)", "too_large", "too_large"),
    Fault("/fault/bomb-zstd", "zstd bomb (256 MB of zeros)", "too_large", "too_large"),
    Fault("/fault/bad-gzip", "Content-Encoding: gzip over bytes that are not gzip", "decode_error", "decode_error"),
    Fault("/fault/pdf", "a PDF served as text/html", "binary", "binary"),
    Fault("/fault/double-gzip", "gzip data inside a text/html body (no Content-Encoding): inflated", "ok", "ok"),
    Fault("/fault/loop-a", "redirect loop a -> b -> a", "redirect_loop", "redirect_loop"),
    Fault("/fault/chain/1", f"a {CHAIN_HOPS}-hop redirect chain", "redirect_loop", "redirect_loop"),
    Fault("/fault/to-internal", "redirect to a second loopback port (an internal service)",
          "blocked_redirect", "blocked_redirect"),
    Fault("/fault/nested", f"{NESTED_DEPTH:,} nested elements", "ok", "parse_limit"),
    Fault("/fault/broken-feed.xml", "an RSS feed cut off mid-element", "ok", "bad_feed"),
    Fault("/fault/lol-feed.xml", "an RSS feed with a billion-laughs DTD", "ok", "bad_feed"),
    Fault("/fault/xxe-feed.xml", "an RSS feed whose entity reads a local file", "ok", "bad_feed"),
    Fault("/private/report.html", "a page disallowed by robots.txt", "robots", "robots"),
    Fault("/fault/to-private", "redirect to a page disallowed by robots.txt", "robots", "robots"),
]
CRAWL_FAULTS = [f for f in FAULTS if f.path != "/fault/429-long"]


@dataclass(frozen=True)
class Request:
    """One logged request."""

    path: str
    at: float  # time.time()
    client: str
    headers: dict[str, str] = field(default_factory=dict)


_bomb_lock = threading.Lock()


def bomb(coding: str) -> bytes:
    """``BOMB_SIZE`` zero bytes compressed with ``coding`` (built once per process, ~3 s in all)."""
    with _bomb_lock:
        return _build_bomb(coding)


@functools.cache
def _build_bomb(coding: str) -> bytes:
    chunk = bytes(1024 * 1024)
    if coding == "br":
        comp = brotli.Compressor(quality=3)
        parts = [comp.process(chunk) for _ in range(BOMB_SIZE // len(chunk))]
        return b"".join(parts) + comp.finish()
    if coding == "zstd":
        writer = zstandard.ZstdCompressor(level=3).compressobj()
        return b"".join(writer.compress(chunk) for _ in range(BOMB_SIZE // len(chunk))) + writer.flush()
    wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(comp.compress(chunk) for _ in range(BOMB_SIZE // len(chunk))) + comp.flush()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        site = self.server.site
        site.log_request(self)
        route = site.route(self.path.split("?")[0])
        route(self)

    # -- helpers used by FaultServer routes --
    def send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    site: FaultServer

    def handle_error(self, request, client_address) -> None:  # resets and hang-ups are expected here
        pass


class FaultServer:
    """The fault site on 127.0.0.1 plus an internal service on a second port.

    Attributes: ``host`` (``127.0.0.1:PORT``, the allowed host), ``internal_host``,
    ``log`` and ``internal_log`` (lists of ``Request``), ``secret_marker`` (text of
    the local file the XXE feed points at).
    """

    def __init__(self) -> None:
        self.log: list[Request] = []
        self.internal_log: list[Request] = []
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self.stop = threading.Event()
        self._tmp = tempfile.TemporaryDirectory(prefix="hubwatch-faults-")
        self.secret_marker = f"HUBWATCH-SECRET-{uuid.uuid4().hex}"
        self.secret_file = Path(self._tmp.name) / "secret.txt"
        self.secret_file.write_text(self.secret_marker)
        self._main = self._start(self)
        self._internal = self._start(_InternalSite(self))
        self.host = f"127.0.0.1:{self._main.server_address[1]}"
        self.internal_host = f"127.0.0.1:{self._internal.server_address[1]}"
        threading.Thread(target=self.warm, daemon=True).start()

    @staticmethod
    def warm() -> None:
        """Build the compression bombs now (call before timing-sensitive requests)."""
        for coding in ("gzip", "deflate", "br", "zstd"):
            bomb(coding)

    @staticmethod
    def _start(site) -> _Server:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.site = site
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return server

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop both servers and release dripping or hanging handlers."""
        self.stop.set()
        for server in (self._main, self._internal):
            server.shutdown()
            server.server_close()
        self._tmp.cleanup()

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def requested(self, prefix: str) -> list[Request]:
        """Logged requests whose path starts with ``prefix``."""
        with self._lock:
            return [r for r in self.log if r.path.startswith(prefix)]

    def log_request(self, h: _Handler) -> None:
        req = Request(h.path, time.time(), f"{h.client_address[0]}:{h.client_address[1]}",
                      {k.lower(): v for k, v in h.headers.items()})
        with self._lock:
            self.log.append(req)
            self._counts[h.path] = self._counts.get(h.path, 0) + 1

    def count(self, path: str) -> int:
        with self._lock:
            return self._counts.get(path, 0)

    def route(self, path: str):
        if path in _STATIC:
            return getattr(self, _STATIC[path])
        for prefix, name in _PREFIXES:
            if path.startswith(prefix):
                return getattr(self, name)
        return lambda h: h.send(404, b"<html><title>Not found</title></html>")

    # -- normal site --
    def robots(self, h: _Handler) -> None:
        # Served with a UTF-8 BOM: the first group must still be recognised (case 17).
        body = (b"\xef\xbb\xbfUser-agent: *\nDisallow: /private/\n\n"
                + f"Sitemap: {self.url('/sitemap.xml')}\n".encode())
        h.send(200, body, "text/plain")

    def article(self, h: _Handler) -> None:
        name = h.path.split("?")[0].rsplit("/", 1)[-1]
        n = int(name.split(".")[0]) if name.split(".")[0].isdigit() else 0
        if not 1 <= n <= 10:
            return h.send(404, b"<html><title>Not found</title></html>")
        self._cacheable(h, article_html(n))

    def _cacheable(self, h: _Handler, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = "Wed, 18 Jun 2025 02:00:00 GMT"
        headers = {"ETag": etag, "Last-Modified": modified}
        if h.headers.get("If-None-Match") == etag or h.headers.get("If-Modified-Since") == modified:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send(200, body, ctype, headers)

    def index(self, h: _Handler) -> None:
        links = [(p, f"Article {i}") for i, p in enumerate(ARTICLES, 1)] + [(f.path, f.what) for f in FAULTS]
        items = "".join(f'<li><a href="{p}">{t}</a></li>\n' for p, t in links)
        self._cacheable(h, f"<html><head><title>Test site</title></head><body><ul class=\"list\">\n{items}"
                           "</ul></body></html>".encode())

    def feed(self, h: _Handler) -> None:
        items = "".join(f"<item><title>{_TOPICS[i - 1][0]}</title><link>{self.url(p)}</link>"
                        f"<pubDate>{10 + i} Jun 2025 01:00:00 GMT</pubDate></item>\n"
                        for i, p in enumerate(ARTICLES, 1))
        body = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Test site</title>'
                f"<link>{self.url('/')}</link>\n{items}</channel></rss>\n").encode()
        self._cacheable(h, body, "application/rss+xml")

    # -- faults --
    def private(self, h: _Handler) -> None:
        h.send(200, b"<html><title>Private</title><p>must never be requested</p></html>")

    def http500(self, h: _Handler) -> None:
        h.send(500, b"<html><title>Internal Server Error</title></html>")

    def _once_then_article(self, h: _Handler, status: int, headers: dict[str, str]) -> None:
        if self.count(h.path) == 1:
            return h.send(status, b"<html><title>busy</title></html>", headers=headers)
        h.send(200, article_html(1))

    def then_ok_503(self, h: _Handler) -> None:
        self._once_then_article(h, 503, {})

    def retry_seconds(self, h: _Handler) -> None:
        self._once_then_article(h, 429, {"Retry-After": "1"})

    def retry_date(self, h: _Handler) -> None:
        self._once_then_article(h, 429, {"Retry-After": email.utils.formatdate(time.time() + 2, usegmt=True)})

    def retry_long(self, h: _Handler) -> None:
        h.send(429, b"<html><title>slow down</title></html>", headers={"Retry-After": "86400"})

    def drip(self, h: _Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Connection", "close")
        h.end_headers()
        self._drip(h, b"<html><title>drip</title>" + b"x" * 600)

    def drip_headers(self, h: _Handler) -> None:
        self._drip(h, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 600)

    def _drip(self, h: _Handler, data: bytes) -> None:
        h.close_connection = True
        for byte in data:
            if self.stop.wait(1.0):
                return
            try:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
            except OSError:
                return

    def hang(self, h: _Handler) -> None:
        h.close_connection = True
        self.stop.wait(600)

    def reset(self, h: _Handler) -> None:
        h.close_connection = True
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()

    def huge(self, h: _Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(HUGE_SIZE))
        h.end_headers()
        block = (b"<p>" + "长三角 filler paragraph for a very large page. ".encode() * 1300 + b"</p>\n")[:65536]
        sent = 0
        try:
            while sent < HUGE_SIZE and not self.stop.is_set():
                piece = block[:HUGE_SIZE - sent]
                h.wfile.write(piece)
                sent += len(piece)
        except OSError:
            h.close_connection = True

    def bomb_route(self, h: _Handler) -> None:
        coding = h.path.split("?")[0].rsplit("-", 1)[-1]
        h.send(200, bomb(coding), headers={"Content-Encoding": coding})

    def bad_gzip(self, h: _Handler) -> None:
        h.send(200, b"this is not gzip data at all" * 10, headers={"Content-Encoding": "gzip"})

    def pdf(self, h: _Handler) -> None:
        h.send(200, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\n" + b"0" * 2000)

    def double_gzip(self, h: _Handler) -> None:
        h.send(200, gzip.compress(article_html(2)))

    def loop(self, h: _Handler) -> None:
        nxt = "/fault/loop-b" if h.path.startswith("/fault/loop-a") else "/fault/loop-a"
        h.send(302, b"", headers={"Location": nxt})

    def chain(self, h: _Handler) -> None:
        n = int(h.path.split("?")[0].rsplit("/", 1)[-1] or 0)
        if n >= CHAIN_HOPS:
            return h.send(200, article_html(3))
        h.send(302, b"", headers={"Location": f"/fault/chain/{n + 1}"})

    def to_internal(self, h: _Handler) -> None:
        h.send(302, b"", headers={"Location": f"http://{self.internal_host}/admin?token=1"})

    def to_private(self, h: _Handler) -> None:
        h.send(302, b"", headers={"Location": "/private/report.html"})

    def nested(self, h: _Handler) -> None:
        body = (b"<html><head><title>Nested</title></head><body>" + b"<div>" * NESTED_DEPTH
                + "粤港澳大湾区".encode() + b"</div>" * NESTED_DEPTH + b"</body></html>")
        h.send(200, body)

    def broken_feed(self, h: _Handler) -> None:
        h.send(200, b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title>'
                    b"<item><title>Half an item</title><link>/articles/1.ht", "application/rss+xml")

    def lol_feed(self, h: _Handler) -> None:
        ents = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
        body = (f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY l0 "lol">{ents}]>\n'
                '<rss version="2.0"><channel><title>&l9;</title></channel></rss>')
        h.send(200, body.encode(), "application/rss+xml")

    def xxe_feed(self, h: _Handler) -> None:
        body = (f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY secret SYSTEM "file://{self.secret_file}">]>\n'
                '<rss version="2.0"><channel><title>Feed</title><item><title>&secret;</title>'
                f"<link>{self.url('/articles/1.html')}</link><description>&secret;</description>"
                "</item></channel></rss>")
        h.send(200, body.encode(), "application/rss+xml")


_STATIC = {
    "/robots.txt": "robots", "/index.html": "index", "/": "index", "/feed.xml": "feed",
    "/fault/500": "http500", "/fault/503-then-ok": "then_ok_503", "/fault/429-seconds": "retry_seconds",
    "/fault/429-date": "retry_date", "/fault/429-long": "retry_long", "/fault/drip": "drip",
    "/fault/drip-headers": "drip_headers", "/fault/hang": "hang", "/fault/reset": "reset",
    "/fault/huge": "huge", "/fault/bad-gzip": "bad_gzip", "/fault/pdf": "pdf",
    "/fault/double-gzip": "double_gzip", "/fault/to-internal": "to_internal", "/fault/nested": "nested",
    "/fault/broken-feed.xml": "broken_feed", "/fault/lol-feed.xml": "lol_feed",
    "/fault/xxe-feed.xml": "xxe_feed", "/fault/to-private": "to_private",
}
_PREFIXES = [("/articles/", "article"), ("/private/", "private"), ("/fault/bomb-", "bomb_route"),
             ("/fault/loop-", "loop"), ("/fault/chain/", "chain")]


class _InternalSite:
    """The internal service on the second port: logs and answers, must see nothing."""

    def __init__(self, owner: FaultServer) -> None:
        self._owner = owner

    def log_request(self, h: _Handler) -> None:
        with self._owner._lock:
            self._owner.internal_log.append(Request(h.path, time.time(), str(h.client_address)))

    def route(self, path: str):
        return lambda h: h.send(200, b"internal admin console: secret", "text/plain")


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
