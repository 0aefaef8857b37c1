"""A local webhook that records what apprise's ``json://`` target posts to it."""

from __future__ import annotations

import http.server
import json
import threading


class Webhook:
    """``with Webhook() as hook``: ``hook.url`` (an apprise URL), ``hook.messages`` (the
    decoded ``message`` field of each POST, as JSON), ``hook.status`` (answer code)."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.status = 200
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if outer.status == 200:
                    outer.messages.append(json.loads(json.loads(body)["message"]))
                self.send_response(outer.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):  # quiet test output
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self._server.server_port}/hook"

    def __enter__(self) -> "Webhook":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
