"""Property (issue 16, point 3): whatever bytes, headers and links a server sends, the
fetch-and-store path ends each URL as exactly one snapshot, and no exception escapes.

A real loopback server answers every request with the case hypothesis drew (status,
Content-Type with any charset label, a Content-Encoding list with repeats and unknown
codings, a body that is random bytes, compressed, or HTML with random ``<meta charset>``
and links), and the real ``Pipeline`` and ``Fetcher`` store it in a real PostgreSQL.
"""

from __future__ import annotations

import gzip
import socket
import socketserver
import threading
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import sessionmaker

from hubwatch.config.settings import FetchSettings, get_settings
from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import Fetcher
from hubwatch.models.schema import Snapshot
from hubwatch.pipeline.ingest import Pipeline

pytestmark = pytest.mark.db

LABELS = ["utf-8", "gbk", "gb2312", "big5", "base64", "rot13", "undefined", "hex", "zlib",
          "unicode_escape", "idna", "utf-16", "utf-7", "x-nonsense", "", "latin-1", "shift_jis"]
CODINGS = ["gzip", "deflate", "br", "zstd", "identity", "x-gzip", "compress", "base64", ""]
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


class _Case:
    status, headers, body = 200, {}, b""


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        try:
            request = self.rfile.readline(65536)
            while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                pass  # headers: the answer does not depend on them
            case = self.server.case
            if request.split(b" ")[1:2] == [b"/robots.txt"]:
                status, headers, body = 404, {}, b""
            else:
                status, headers, body = case.status, case.headers, case.body
            head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            self.wfile.write(head.encode("latin-1") + body)
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def server():
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.case = _Case()
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def rig(server, pg_url):
    host = f"127.0.0.1:{server.server_address[1]}"
    source = SourceConfig(slug="prop", name="Property", kind="commentary", language="en",
                          allowed_hosts=[host], delay_seconds=0,
                          discovery=[Discovery(type="feed", url=f"http://{host}/feed.xml")])
    engine = create_engine(pg_url)
    sessions = sessionmaker(engine)
    pipeline = Pipeline.open(sessions, [source], load_watchlist(get_settings().watchlist_file))
    fetch_settings = FetchSettings(connect_timeout=2, read_timeout=2, total_deadline=4, retries=0,
                                   backoff_base=0, max_retry_wait=0, breaker_threshold=10_000,
                                   host_delay=0)
    with Fetcher(fetch_settings) as fetcher:
        yield pipeline, fetcher, source, host, sessions
    with engine.begin() as conn:  # leave the shared test database empty for the next module
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                   " AND tablename <> 'alembic_version'")).scalars().all()
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _encode(body: bytes, codings: list[str]) -> bytes:
    for coding in codings:  # applied in order, as a server would list them
        if coding in ("gzip", "x-gzip"):
            body = gzip.compress(body, mtime=0)
        elif coding == "deflate":
            body = zlib.compress(body)
    return body


@st.composite
def responses(draw):
    links = draw(st.lists(st.one_of(
        HEADER_TEXT, st.sampled_from(["http://host:1:2/", "http://[::1]:8080/", "http://[::1/",
                                      "javascript:alert(1)", "//x", "http://h:99999/"])), max_size=5))
    html = ("<html><head>" + draw(st.sampled_from(["", '<meta charset="{}">']))
            .format(draw(st.sampled_from(LABELS))) + "<title>" + draw(st.text(max_size=40))
            + "</title></head><body><p>" + draw(st.text(max_size=300)) + "</p>"
            + "".join(f'<a href="{link}">x</a>' for link in links) + "</body></html>")
    body = draw(st.one_of(st.binary(max_size=2000),
                          st.just(html.encode("utf-8", "surrogatepass")),
                          st.just(html.encode("gb18030", "replace"))))
    codings = draw(st.lists(st.sampled_from(CODINGS), max_size=6))
    if draw(st.booleans()):
        codings = codings * draw(st.integers(1, 400))  # stacked far past any sane limit
    body = _encode(body, codings) if draw(st.booleans()) else body
    headers = {"Content-Type": draw(st.sampled_from(["text/html", "application/xml", "text/plain",
                                                     "application/pdf", ""])) +
               draw(st.sampled_from(["", "; charset="])) + draw(st.sampled_from(LABELS))}
    if codings:
        headers["Content-Encoding"] = ", ".join(codings)
    if draw(st.booleans()):
        headers[draw(st.sampled_from(["Location", "ETag", "Last-Modified", "Retry-After",
                                      "X-Junk"]))] = draw(HEADER_TEXT)
    status = draw(st.sampled_from([200, 200, 200, 203, 301, 302, 304, 404, 410, 429, 500, 503]))
    path = draw(st.one_of(st.just("/page.html"), HEADER_TEXT.map(lambda t: "/" + t)))
    return status, headers, body, path


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=responses())
def test_every_case_ends_in_exactly_one_snapshot(rig, server, case):
    pipeline, fetcher, source, host, sessions = rig
    status, headers, body, path = case
    server.case.status, server.case.headers, server.case.body = status, headers, body
    with sessions() as session:
        before = session.execute(select(func.count()).select_from(Snapshot)).scalar()
    store_errors = pipeline.counts.outcomes.get("store_error", 0)
    pipeline.fetch_and_store([f"http://{host}{path}"], fetcher, source)  # must not raise
    with sessions() as session:
        after = session.execute(select(func.count()).select_from(Snapshot)).scalar()
    assert after - before == 1
    assert pipeline.counts.outcomes.get("store_error", 0) == store_errors


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=responses())
def test_discovery_of_any_listing_never_ends_the_source(rig, server, case):
    pipeline, fetcher, source, host, sessions = rig
    status, headers, body, _ = case
    server.case.status, server.case.headers, server.case.body = status, headers, body
    listing = source.model_copy(update={"discovery": [Discovery(
        type="listing", url=f"http://{host}/listing.html", selector="a")]})
    pipeline.crawl_source(listing, fetcher, max_pages=5, dry_run=True)  # must not raise


def test_a_socket_that_never_answers_is_still_one_snapshot(rig):
    """A closed port, for completeness: the network fault path records its snapshot too
    (``robots``: robots.txt is unreachable before the page is)."""
    pipeline, fetcher, source, host, sessions = rig
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    other = source.model_copy(update={"allowed_hosts": [f"127.0.0.1:{port}"]})
    with sessions() as session:
        before = session.execute(select(func.count()).select_from(Snapshot)).scalar()
    pipeline.fetch_and_store([url], fetcher, other)
    with sessions() as session:
        got = session.execute(select(Snapshot.outcome).where(Snapshot.requested_url == url)).scalars().all()
        after = session.execute(select(func.count()).select_from(Snapshot)).scalar()
    assert got in (["robots"], ["network_error"]) and after == before + 1
