"""Bodies judged by their bytes (issue 12 point 3), over a real local socket so that
Content-Length, Content-Encoding and an early close are exactly what a server sends:
labels the bytes contradict (case 47), gzip with no label, truncated bodies, and the
status deciding ``gone`` whatever the body."""

from __future__ import annotations

import gzip
import json
import os
import socketserver
import threading
import zlib
from pathlib import Path

import pytest

from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.outcomes import Outcome

PAGE = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Yangtze River Delta plan"
        "</title></head><body><article>" + "<p>The Yangtze River Delta integration plan "
        "moves on with new joint laboratories.</p>" * 20 + "</article></body></html>").encode()
SETTINGS = FetchSettings(retries=0, host_delay=0, total_deadline=10, read_timeout=5)


class _Canned(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, tuple[int, list[tuple[str, str]], bytes, int | None]] = {}

    def add(self, path: str, status: int, headers: list[tuple[str, str]], body: bytes, *,
            content_length: int | None = None) -> str:
        """Serve ``body`` at ``path``; ``content_length`` overrides the header (then the
        connection closes after the body, short of it)."""
        self.routes[path] = (status, headers, body, content_length)
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline().decode("latin-1")
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        path = line.split(" ")[1] if " " in line else "/"
        status, headers, body, length = self.server.routes.get(path, (404, [], b"", None))
        head = [f"HTTP/1.1 {status} X", f"Content-Length: {length if length is not None else len(body)}",
                "Connection: close", *(f"{k}: {v}" for k, v in headers)]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()


@pytest.fixture
def server():
    srv = _Canned()
    srv.routes["/robots.txt"] = (200, [("Content-Type", "text/plain")], b"User-agent: *\nAllow: /\n", None)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(url: str, expect: str = "page"):
    host = url.split("/")[2]
    with Fetcher(SETTINGS) as f:
        return f.fetch(url, allowed_hosts={host}, expect=expect)


HTML = [("Content-Type", "text/html; charset=utf-8")]


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "br", "zstd"])
def test_plain_body_under_a_compression_label_is_read_as_is(server, coding):
    res = _get(server.add("/p.html", 200, [*HTML, ("Content-Encoding", coding)], b"\n  " + PAGE))
    assert res.outcome == Outcome.OK and res.body == b"\n  " + PAGE
    assert f"Content-Encoding {coding} ignored" in res.error


def test_real_gzip_under_its_label_still_decoded_and_junk_still_refused(server):
    ok = _get(server.add("/g.html", 200, [*HTML, ("Content-Encoding", "gzip")], gzip.compress(PAGE)))
    assert ok.outcome == Outcome.OK and ok.body == PAGE and ok.error is None
    bad = _get(server.add("/j.html", 200, [*HTML, ("Content-Encoding", "gzip")], b"junk " * 40))
    assert bad.outcome == Outcome.DECODE_ERROR


@pytest.mark.parametrize("expect", ["page", "feed"])
def test_gzip_body_without_label_is_inflated_on_pages_and_feeds(server, expect):
    res = _get(server.add("/u.html", 200, HTML, gzip.compress(PAGE)), expect)
    assert res.outcome == Outcome.OK and res.body == PAGE
    assert "gzip body inflated" in res.error


def test_gzip_inside_gzip_label_is_inflated_twice(server):
    res = _get(server.add("/s.xml.gz", 200, [("Content-Encoding", "gzip")],
                          gzip.compress(gzip.compress(PAGE))), "feed")
    assert res.outcome == Outcome.OK and res.body == PAGE


def test_404_and_410_are_gone_whatever_the_body(server):
    for status, body, coding in ((404, b"<html>gone</html>", "gzip"), (410, b"\x00\x01garbage" * 9, "br"),
                                 (404, b"\x1f\x8b\x08\x00broken", "gzip")):
        res = _get(server.add(f"/{status}-{coding}.html", status, [*HTML, ("Content-Encoding", coding)],
                              body))
        assert res.outcome == Outcome.GONE and res.status == status


def test_short_body_kept_when_its_gzip_stream_is_complete(server):
    packed = gzip.compress(PAGE)
    labelled = _get(server.add("/c1.html", 200, [*HTML, ("Content-Encoding", "gzip")], packed,
                               content_length=len(packed) + 500))
    assert labelled.outcome == Outcome.OK and labelled.body == PAGE
    assert f"truncated: {len(packed)} of {len(packed) + 500} bytes" in labelled.error
    assert "complete: kept" in labelled.error
    unlabelled = _get(server.add("/c2.html", 200, HTML, packed, content_length=len(packed) + 9))
    assert unlabelled.outcome == Outcome.OK and unlabelled.body == PAGE


def test_really_truncated_body_is_network_error_with_the_count(server):
    plain = _get(server.add("/t1.html", 200, HTML, PAGE[:300], content_length=len(PAGE)))
    assert plain.outcome == Outcome.NETWORK_ERROR
    assert plain.error == f"truncated: 300 of {len(PAGE)} bytes"
    packed = zlib.compress(PAGE * 50)
    cut = gzip.compress(PAGE * 50)[:len(packed) // 2]
    gz = _get(server.add("/t2.html", 200, [*HTML, ("Content-Encoding", "gzip")], cut,
                         content_length=len(cut) * 2))
    assert gz.outcome == Outcome.NETWORK_ERROR
    assert gz.error == f"truncated: {len(cut)} of {len(cut) * 2} bytes"


def _case47() -> Path:
    shared = os.environ.get("HUBWATCH_SHARED")
    path = Path(shared or "/nonexistent") / "cases" / "47-gzip-header-on-plain-body"
    if not path.is_dir():
        pytest.skip("HUBWATCH_SHARED (case 47) not available")
    return path


def test_case47_replayed(server):
    """The case's three responses as recorded (headers and wire bytes), through the
    ``hubwatch extract`` path: the 404 is gone, the mislabelled page and the real gzip
    one are read with their entities."""
    from hubwatch.cli.inspect import inspect_target

    case = _case47()
    expected = json.loads((case / "expected.json").read_text())
    targets = expected["driver"]["targets"]
    for response in json.loads((case / "responses.json").read_text()):
        path = "/" + response["request_url"].split("/", 3)[3]
        server.add(path, response["status"], [tuple(h) for h in response["headers"]],
                   (case / response["body_file"]).read_bytes())
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for name, want in expected["expected"].items():
        record = inspect_target(base + targets[name])
        assert record["outcome"] == want["outcome"], (name, record["error"])
        if "title" in want:
            assert record["title"] == want["title"]
        entities = {m["entity"] for m in record["mentions"]}
        assert set(want.get("entities", [])) <= entities, name
