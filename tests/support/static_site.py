"""A tiny static site on 127.0.0.1: a dict of path -> (status, headers, body), every
request logged. For pipeline tests that need exact pages (redirect stubs, paged articles).

Usage::

    with StaticSite({"/a.html": page_bytes}) as site:
        fetcher.fetch(site.url("/a.html"), allowed_hosts={site.host}, ...)
        assert site.requested == ["/a.html"]
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Response = bytes | tuple[int, dict[str, str], bytes]


class StaticSite:
    def __init__(self, pages: dict[str, Response]) -> None:
        self.pages = pages
        self.requested: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path != "/robots.txt":
                    site.requested.append(self.path)
                spec = site.pages.get(self.path)
                status, headers, body = (200, {}, spec) if isinstance(spec, bytes) else spec or (404, {}, b"")
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("Content-Type", "text/html; charset=utf-8")
                                 if headers else "text/html; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def __enter__(self) -> StaticSite:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
