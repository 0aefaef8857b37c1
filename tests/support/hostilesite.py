"""A hostile local site for "no fetch without a trace" and "bounded work" (issue 16).

``HostileSite`` binds 127.0.0.1 on a free port and logs every request path. Its listing
(``/listing.html``) links good articles among pages that used to end a source's crawl
or a run without a record, plus links that cannot be URLs at all:

- charset labels Python knows but no browser does (``base64``, ``rot13``, ``undefined``),
  in the header and in ``<meta>``; they must decode by the other rules and be stored;
- ``Content-Encoding`` listing gzip 1,000 times (body really gzipped 1,000 times):
  ``decode_error``; gzip twice (allowed): stored;
- an attribute bomb (one tag with ``ATTRIBUTES`` attributes): ``parse_limit``;
- a page naming the Greater Bay Area ``MANY_MENTIONS`` times (over the 8,191 mentions
  one multi-row INSERT could bind): stored with every mention;
- a 19 MB page repeating "Greater Bay Area" (``BIG_REPEATS`` times): stored with its main
  text cut and its mentions capped, both noted on the snapshot;
- ``/slow/N.html``: answers after ``slow_seconds`` (for the SIGTERM test);
- ``BAD_LINKS`` (a port ``1:2``, an unclosed IPv6 literal), dropped by discovery with a
  warning; ``ODD_LINKS`` (an IPv6 literal with port, another site), ignored as off-site.

``/sitemap-index.xml`` is an index of ``INDEX_CHILDREN`` child sitemaps of
``CHILD_URLS`` URLs each, generated on request (nothing large is kept in memory).
Pages are generated here, never copied from the shared corpus.
"""

from __future__ import annotations

import functools
import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.faultserver import article_html

ATTRIBUTES = 100_000
BIG_REPEATS = 1_100_000  # "Greater Bay Area " x 1.1 million: a 19 MB page
MANY_MENTIONS = 9_000
INDEX_CHILDREN = 1_000
CHILD_URLS = 10_000
STACKED = 1_000
#: links that cannot be URLs: dropped by discovery with a warning
BAD_LINKS = ["http://host:1:2/", "http://[::1/"]
#: valid links that used to break normalisation (brackets dropped): off-site, ignored
ODD_LINKS = ["http://[::1]:8080/", "http://other.example/x.html"]
GOOD = [f"/articles/{n}.html" for n in range(1, 6)]


@functools.cache
def _stacked_gzip(layers: int) -> bytes:
    body = article_html(6)
    for _ in range(layers):
        body = gzip.compress(body, compresslevel=1, mtime=0)
    return body


@functools.cache
def attribute_bomb(n: int = ATTRIBUTES) -> bytes:
    """One ``<p>`` with ``n`` attributes (about 11 bytes each): libxml2 is quadratic in them."""
    attrs = " ".join(f"data-a{i}=x" for i in range(n))
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Bomb</title></head>"
            f"<body><article><h1>Attribute bomb</h1><p {attrs}>Greater Bay Area</p></article>"
            f"</body></html>").encode()


@functools.cache
def many_mentions(n: int = MANY_MENTIONS) -> bytes:
    """An article of ``n`` short sentences, each naming the Greater Bay Area once."""
    paras = "".join(f"<p>Item {i} of the plan concerns the Greater Bay Area.</p>\n" for i in range(n))
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>A long plan for "
            f"the Greater Bay Area</title><meta name=\"date\" content=\"2025-06-20T09:00:00+08:00\">"
            f"</head><body><article><h1>A long plan for the Greater Bay Area</h1>\n{paras}</article>"
            f"</body></html>").encode()


@functools.cache
def big_page(repeats: int = BIG_REPEATS) -> bytes:
    return (b"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Repeats</title></head><body>"
            b"<article><p>" + b"Greater Bay Area " * repeats + b"</p></article></body></html>")


def _codec_page(n: int, meta: str | None) -> bytes:
    head = f"<meta charset=\"{meta}\">" if meta else ""
    return article_html(n).replace(b'<meta charset="utf-8">', head.encode())


#: path -> (what it is, the page outcome a crawl must record)
PAGES: dict[str, tuple[str, str]] = {
    **{p: ("a normal article", "ok") for p in GOOD},
    "/codec/header-base64.html": ("Content-Type charset=base64", "ok"),
    "/codec/header-rot13.html": ("Content-Type charset=rot13", "ok"),
    "/codec/header-undefined.html": ("Content-Type charset=undefined", "ok"),
    "/codec/meta-base64.html": ("<meta charset=base64>", "ok"),
    "/codec/meta-undefined.html": ("<meta charset=undefined>", "ok"),
    "/stacked/gzip-2.html": ("gzip applied twice, both listed", "ok"),
    f"/stacked/gzip-{STACKED}.html": (f"Content-Encoding: gzip listed {STACKED} times", "decode_error"),
    "/bomb/attributes.html": (f"one tag with {ATTRIBUTES:,} attributes", "parse_limit"),
    "/many-mentions.html": (f"{MANY_MENTIONS:,} mentions of the Greater Bay Area", "ok"),
    "/big/repeats.html": ("a 19 MB page repeating Greater Bay Area", "ok"),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        site = self.server.site
        path = self.path.split("?")[0]
        site.log_path(path)
        site.respond(self, path)

    def send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (a cancelled crawl)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: HostileSite

    def handle_error(self, request, client_address) -> None:
        pass


class HostileSite:
    """The site on 127.0.0.1: ``host`` (``127.0.0.1:PORT``), ``url(path)``, ``paths``
    (every requested path in order), ``count(prefix)``. ``slow_pages`` and
    ``slow_seconds`` shape ``/slow-listing.html`` and ``/slow/N.html``."""

    def __init__(self, *, slow_pages: int = 0, slow_seconds: float = 0.0) -> None:
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self.slow_pages, self.slow_seconds = slow_pages, slow_seconds
        self.stop = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()
        self.host = f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HostileSite:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def log_path(self, path: str) -> None:
        with self._lock:
            self.paths.append(path)

    def count(self, prefix: str) -> int:
        with self._lock:
            return sum(p.startswith(prefix) for p in self.paths)

    # -- routes ---------------------------------------------------------------------
    def respond(self, h: _Handler, path: str) -> None:
        if path == "/robots.txt":
            return h.send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        if path == "/listing.html":
            return h.send(200, self._listing([*PAGES, *BAD_LINKS, *ODD_LINKS]))
        if path == "/slow-listing.html":
            return h.send(200, self._listing([f"/slow/{n}.html" for n in range(self.slow_pages)]))
        if path.startswith("/slow/"):
            self.stop.wait(self.slow_seconds)
            return h.send(200, article_html(1 + int(path.split("/")[2].split(".")[0]) % 10))
        if path == "/sitemap-index.xml":
            return h.send(200, self._sitemap_index(), "application/xml")
        if path.startswith("/sitemaps/"):
            return h.send(200, self._child_sitemap(int(path.split("/")[2].split(".")[0])),
                          "application/xml")
        if path.startswith("/articles/"):
            n = int(path.rsplit("/", 1)[1].split(".")[0])
            return h.send(200, article_html(n) if 1 <= n <= 10 else b"")
        page = self._special(path)
        if page is None:
            return h.send(404, b"<html><title>Not found</title></html>")
        body, ctype, headers = page
        h.send(200, body, ctype, headers)

    def _special(self, path: str) -> tuple[bytes, str, dict[str, str]] | None:
        html = "text/html"
        if path.startswith("/codec/header-"):
            label = path.removeprefix("/codec/header-").removesuffix(".html")
            return _codec_page(7, None), f"text/html; charset={label}", {}
        if path.startswith("/codec/meta-"):
            return _codec_page(8, path.removeprefix("/codec/meta-").removesuffix(".html")), html, {}
        if path.startswith("/stacked/gzip-"):
            layers = int(path.removeprefix("/stacked/gzip-").removesuffix(".html"))
            return _stacked_gzip(layers), html + "; charset=utf-8", {
                "Content-Encoding": ", ".join(["gzip"] * layers)}
        if path == "/bomb/attributes.html":
            return attribute_bomb(), html + "; charset=utf-8", {}
        if path == "/many-mentions.html":
            return many_mentions(), html + "; charset=utf-8", {}
        if path == "/big/repeats.html":
            return big_page(), html + "; charset=utf-8", {}
        return None

    def _listing(self, links: list[str]) -> bytes:
        items = "".join(f'<li><a href="{p}">{p}</a></li>\n' for p in links)
        return (f"<html><head><title>Listing</title></head><body><ul class=\"list\">\n{items}"
                f"</ul></body></html>").encode()

    def _sitemap_index(self) -> bytes:
        rows = "".join(f"<sitemap><loc>{self.url(f'/sitemaps/{i}.xml')}</loc></sitemap>\n"
                       for i in range(INDEX_CHILDREN))
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns='
                f'"http://www.sitemaps.org/schemas/sitemap/0.9">\n{rows}</sitemapindex>\n').encode()

    def _child_sitemap(self, i: int) -> bytes:
        base = self.url(f"/many/{i}/")
        rows = "".join(f"<url><loc>{base}{n}.html</loc><lastmod>2025-06-01</lastmod></url>\n"
                       for n in range(CHILD_URLS))
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
                f'"http://www.sitemaps.org/schemas/sitemap/0.9">\n{rows}</urlset>\n').encode()
