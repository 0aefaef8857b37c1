"""A tiny file site on 127.0.0.1: paths -> (bytes, content type), each answered with an
ETag (a prefix of its SHA-256) and 304 to a matching If-None-Match; every request logged
as (path, status). Change ``files`` between crawls to edit the site."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Site(ThreadingHTTPServer):
    """Files by path, each with an ETag (its SHA-256) and 304 answers to If-None-Match."""

    def __init__(self, files: dict[str, tuple[bytes, str]]):
        self.files, self.log = files, []
        super().__init__(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        site: Site = self.server
        found = site.files.get(self.path)
        if found is None:
            site.log.append((self.path, 404))
            self.send_error(404)
            return
        body, ctype = found
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        status = 304 if self.headers.get("If-None-Match") == etag else 200
        site.log.append((self.path, status))
        self.send_response(status)
        self.send_header("ETag", etag)
        if status == 200:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status == 200:
            self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass
