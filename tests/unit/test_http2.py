"""HTTP/2 where offered (issue 12 point 7), against a local TLS HTTP/2 server
(support.h2server) that resets one stream: the fetch falls back to HTTP/1.1 and stays
there for that host for the run; a host that keeps to HTTP/2 is asked over HTTP/2."""

from __future__ import annotations

from support.h2server import H2Server

from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.outcomes import Outcome


def _settings(ca_file) -> FetchSettings:
    return FetchSettings(ca_file=str(ca_file), retries=0, host_delay=0, total_deadline=10)


def test_stream_reset_falls_back_to_http11_for_the_host(tmp_path):
    with H2Server(tmp_path, reset={"/reset.html"}) as srv, Fetcher(_settings(srv.ca_file)) as f:
        host = f"127.0.0.1:{srv.port}"
        first = f.fetch(srv.url("/reset.html"), allowed_hosts={host})
        later = f.fetch(srv.url("/later.html"), allowed_hosts={host})
        log = list(srv.log)
        moved = f.http1_hosts
    assert first.outcome == later.outcome == Outcome.OK and b"Greater Bay Area" in first.body
    assert log == [("h2", "/robots.txt"), ("h2", "/reset.html"), ("http/1.1", "/reset.html"),
                   ("http/1.1", "/later.html")]
    assert moved == {host}


def test_http2_kept_where_it_works(tmp_path):
    with H2Server(tmp_path) as srv, Fetcher(_settings(srv.ca_file)) as f:
        host = f"127.0.0.1:{srv.port}"
        results = [f.fetch(srv.url(f"/{n}.html"), allowed_hosts={host}) for n in range(3)]
        log = list(srv.log)
        moved = f.http1_hosts
    assert [r.outcome for r in results] == [Outcome.OK] * 3
    assert {p for p, _ in log} == {"h2"} and not moved


def test_http2_can_be_switched_off(tmp_path):
    settings = _settings(tmp_path).model_copy(update={"http2": False})
    with H2Server(tmp_path) as srv:
        settings = settings.model_copy(update={"ca_file": str(srv.ca_file)})
        with Fetcher(settings) as f:
            res = f.fetch(srv.url("/x.html"), allowed_hosts={f"127.0.0.1:{srv.port}"})
        log = list(srv.log)
    assert res.outcome == Outcome.OK and {p for p, _ in log} == {"http/1.1"}
