"""The Prefect flows end to end under ``prefect_test_harness``: a local site crawled by
``nightly`` (feed + listing + robots.txt), a second run of conditional requests, the
``ingest`` manual trigger, and bad input that is recorded while the run goes on."""

from __future__ import annotations

import gzip
import http.server
import socket
import threading

import pytest
from sqlalchemy import text
from support.sitegen import SiteServer, expected, write_sources
from support.timetravel import shift_days

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture
def env(local_crawl):
    """Settings for fast local crawls; the test writes its own sources file."""
    return local_crawl(HUBWATCH_TOTAL_DEADLINE="10")


def rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_nightly_crawls_site_then_revalidates(env):
    from hubwatch.flows.orchestration import nightly

    tmp, engine = env
    summaries_before = len(_artifacts("nightly-summary"))  # other tests' runs, same server
    briefings_before = len(_artifacts("weekly-briefing"))
    with SiteServer(pages=12, feed_items=6, page_size=5) as site:
        write_sources(tmp / "sources.yaml", site, discovery=("feed", "listing"))
        first = nightly(max_pages=100)
        plan = expected(site.articles)
        assert scalar(engine, "SELECT count(*) FROM document") == plan.documents == 12
        assert scalar(engine, "SELECT count(*) FROM document_version") == 12
        by_entity = dict(rows(engine, "SELECT entity, count(*) FROM current_mentions GROUP BY 1"))
        assert by_entity == plan.mentions_by_entity
        assert first["new_versions"] == 12
        assert first["outcomes"] == {"ok": 12, "robots": 1}  # /private/ refused, never asked
        assert first["discovery_outcomes"] == {"ok": 4}  # the feed and 3 listing pages
        assert not site.requested("/private/")

        # The same night again: nothing is due (the recheck schedule), no page is asked.
        before = len(site.requests)
        again = nightly(max_pages=100)
        assert not [r for r in site.requests[before:] if r.path.startswith("/news/2")]
        assert again["not_due"] == 12 and again["pages_fetched"] == 1  # /private/: robots

        shift_days(engine, 1)  # the next night: new pages are due daily
        before = len(site.requests)
        second = nightly(max_pages=100)
        article_requests = [r for r in site.requests[before:] if r.path.startswith("/news/2")]
        assert len(article_requests) == 12 and second["rechecked"] == 12
        assert all(r.if_none_match or r.if_modified_since for r in article_requests)
        assert {r.status for r in article_requests} == {304}
        assert second["not_modified"] == 12 and second["new_versions"] == 0
        assert scalar(engine, "SELECT count(*) FROM document_version") == 12
        assert not site.requested("/private/")
    runs = rows(engine, "SELECT flow_name, run_status, counts->>'new_versions' FROM crawl_run ORDER BY id")
    assert runs == [("nightly", "completed", "12"), ("nightly", "completed", "0"),
                    ("nightly", "completed", "0")]
    summaries = _artifacts("nightly-summary")
    assert len(summaries) - summaries_before == 3 and "new versions | 12" in "".join(summaries)
    briefings = _artifacts("weekly-briefing")
    assert len(briefings) - briefings_before == 3 and all(
        b.startswith("# hubwatch briefing: 8 week(s) to ") for b in briefings)


def _artifacts(key: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return [a.data for a in found]


def test_ingest_stores_exactly_the_requested_urls(env):
    from hubwatch.flows.orchestration import ingest

    tmp, engine = env
    with SiteServer(pages=8) as site:
        write_sources(tmp / "sources.yaml", site)
        wanted = site.article_urls()[2:5]
        result = ingest(urls=wanted)
    stored = {r[0] for r in rows(engine, "SELECT url FROM current_documents")}
    assert stored == set(wanted) and result["new_documents"] == 3
    params = scalar(engine, "SELECT parameters FROM crawl_run")
    assert params["urls"] == wanted


def test_ingest_dry_run_stores_no_page(env):
    from hubwatch.flows.orchestration import ingest

    tmp, engine = env
    with SiteServer(pages=6) as site:
        write_sources(tmp / "sources.yaml", site)
        result = ingest(sources=["testsite"], dry_run=True)
        assert not site.requested("/news/2")
    assert result["discovered"] == 6
    assert scalar(engine, "SELECT count(*) FROM document") == 0


OK_PAGE = ("<html><head><title>粤港澳大湾区建设</title></head><body><article><p>"
           + "“十五五”期间，粤港澳大湾区将加快建设国际科技创新中心。" * 5
           + "</p></article></body></html>")


# Served gzip-compressed with no Content-Encoding: judged by its magic bytes, inflated, stored.
GZ_PAGE = OK_PAGE.replace("粤港澳大湾区", "京津冀协同发展")


class _BadHandler(http.server.BaseHTTPRequestHandler):
    """Serves a broken feed, a binary body dressed as HTML, a gzip page with no label."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        bodies = {
            "/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain"),
            "/feed.xml": (b"<?xml version='1.0'?><rss><channel><item><link>http://x", "application/rss+xml"),
            "/pdf.html": (b"%PDF-1.7\n" + bytes(range(256)) * 20, "text/html"),
            "/gz.html": (gzip.compress(GZ_PAGE.encode()), "text/html; charset=utf-8"),
            "/ok.html": (OK_PAGE.encode(), "text/html; charset=utf-8"),
        }
        body, ctype = bodies.get(self.path, (b"nope", "text/plain"))
        self.send_response(200 if self.path in bodies else 404)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _refusing_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: connections are refused


def test_bad_input_is_recorded_and_the_run_goes_on(env):
    from hubwatch.flows.orchestration import nightly

    tmp, engine = env
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BadHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    dead = f"127.0.0.1:{_refusing_port()}"
    (tmp / "sources.yaml").write_text(f"""
sources:
  - slug: broken-site
    name: Broken
    kind: policy
    language: zh
    allowed_hosts: ['{host}']
    discovery:
      - {{type: feed, url: 'http://{host}/feed.xml'}}
      - {{type: json, url: 'http://{host}/feed.xml', url_field: URL}}
  - slug: refusing-site
    name: Refusing
    kind: policy
    language: en
    allowed_hosts: ['{dead}']
    discovery:
      - {{type: feed, url: 'http://{dead}/feed.xml'}}
""")
    try:
        nightly()
        from hubwatch.flows.orchestration import ingest

        ingest(urls=[f"http://{host}/pdf.html", f"http://{host}/gz.html", f"http://{host}/ok.html"])
    finally:
        server.shutdown()
    outcomes = dict(rows(engine, "SELECT requested_url, outcome FROM snapshot"))
    assert outcomes[f"http://{host}/feed.xml"] == "bad_feed"
    assert outcomes[f"http://{host}/pdf.html"] == "binary"
    assert outcomes[f"http://{host}/gz.html"] == "ok"  # gzip bytes with no Content-Encoding
    assert outcomes[f"http://{host}/ok.html"] == "ok"
    refused = [o for u, o in outcomes.items() if dead in u]
    assert refused and set(refused) <= {"network_error", "robots", "host_skipped"}
    assert scalar(engine, "SELECT count(*) FROM current_mentions WHERE entity = 'bth'") == 6
    errors = rows(engine, "SELECT error_message FROM snapshot WHERE outcome <> 'ok'")
    assert all(e[0] for e in errors), "every failure names its cause"
    statuses = [r[0] for r in rows(engine, "SELECT run_status FROM crawl_run ORDER BY id")]
    assert statuses == ["completed", "completed"]
    assert scalar(engine, "SELECT count(*) FROM current_mentions WHERE entity = 'gba'") == 6


def test_config_error_stops_before_any_fetch(env):
    from hubwatch.config.loader import ConfigError
    from hubwatch.flows.orchestration import nightly

    tmp, engine = env
    with SiteServer(pages=3) as site:
        path = write_sources(tmp / "sources.yaml", site)
        path.write_text(path.read_text().replace("kind: commentary", "kind: opinion"))
        with pytest.raises(ConfigError) as err:
            nightly()
        assert site.requests == []
    assert "sources.yaml:4: sources.0.kind" in str(err.value)
    assert scalar(engine, "SELECT count(*) FROM snapshot") == 0


def test_reprocess_flow_reports_and_closes_its_run(env):
    from hubwatch.flows.orchestration import ingest, reprocess

    tmp, engine = env
    with SiteServer(pages=4) as site:
        write_sources(tmp / "sources.yaml", site)
        ingest(urls=site.article_urls())
    result = reprocess(extract=True)
    assert result["versions_seen"] == result["versions_reextracted"] == 4
    assert result["versions_rewritten"] == 0 and result["mentions_added"] == {}
    runs = rows(engine, "SELECT flow_name, run_status FROM crawl_run ORDER BY id")
    assert runs == [("ingest", "completed"), ("reprocess", "completed")]
