"""Scale-out: several runs crawling one site at once keep its per-host delay between them
(``hubwatch.crawl.politeness.HostGate``, a claim in PostgreSQL) and write every document, version
and mention once.

The spacing checks read arrival times in the test site's own request log. The gate adds
``margin`` (0.05 s) to each delay for the time from a claim to the request reaching the
site; the only slack the checks allow on top is ``JITTER``.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from support.prefect_server import REPO, PrefectServer, hubwatch
from support.sitegen import SiteServer, expected, write_sources

from hubwatch.crawl.politeness import HostGate, source_delays

JITTER = 0.02


def test_gate_spaces_claims_across_engines(pg_url):
    """Two engines stand for two processes; three threads each claim one host."""
    gap, engines = 0.12, [create_engine(pg_url) for _ in range(2)]
    gates = [HostGate(e, {"site.example:8080": gap}, default=0.0, margin=0) for e in engines]
    stamps: list[float] = []
    lock = threading.Lock()

    def worker(gate: HostGate) -> None:
        for _ in range(4):
            gate.acquire("site.example:8080")
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker, args=(g,)) for g in gates for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stamps.sort()
    assert len(stamps) == 24
    assert min(b - a for a, b in zip(stamps, stamps[1:])) >= gap - JITTER  # claims, no margin
    for e in engines:
        e.dispose()


def test_zero_delay_never_touches_the_database(pg_url):
    engine = create_engine(pg_url)
    gate = HostGate(engine, {"fast.example": 0.0}, default=0.0)
    with gate("fast.example"):
        pass
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM host_politeness "
                                 "WHERE host = 'fast.example'")).scalar() == 0
    engine.dispose()


def test_database_down_degrades_to_local_delay(caplog):
    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                         connect_args={"connect_timeout": 2})
    gate = HostGate(dead, {}, default=5.0)
    with caplog.at_level(logging.WARNING, logger="flows.politeness"):
        for _ in range(2):
            with gate("site.example"):
                pass
    assert [r.message for r in caplog.records].count(
        "cross-process politeness unavailable (OperationalError); only this process's "
        "per-host delay applies") == 1


def test_source_delays_take_the_largest():
    from hubwatch.config.sources import SourceConfig

    def src(slug, hosts, delay):
        return SourceConfig(slug=slug, name=slug, kind="policy", language="en", allowed_hosts=hosts,
                            discovery=[{"type": "feed", "url": "https://a.example/f"}],
                            delay_seconds=delay)

    assert source_delays([src("a", ["a.example", "B.example:81"], 1.0), src("b", ["b.example:81"], 3)]) \
        == {"a.example": 1.0, "b.example:81": 3.0}


@pytest.mark.slow
def test_two_ingest_processes_share_the_host_delay(clean_db, tmp_path):
    server = PrefectServer.shared()
    gap = 0.25
    with SiteServer(pages=12) as site:
        sources = write_sources(tmp_path / "sources.yaml", site, delay_seconds=gap)
        procs, logs = [], []
        for i in range(2):
            env = server.hubwatch_env(tmp_path / f"home{i}", DATABASE_URL=clean_db,
                                      HUBWATCH_SOURCES_FILE=str(sources), HUBWATCH_RETRIES="1")
            logs.append(tmp_path / f"ingest{i}.log")
            with open(logs[-1], "wb") as log:
                procs.append(subprocess.Popen(hubwatch("ingest", "--source", "testsite"), cwd=REPO,
                                              env=env, stdout=log, stderr=subprocess.STDOUT))
        codes = [p.wait(timeout=600) for p in procs]
        assert codes == [0, 0], [log.read_text()[-3000:] for log in logs]

        requests = site.requested("/")
        articles = site.requested("/news/2")
        # both runs fetched every article (the second conditionally or not, as it came)
        assert len(articles) == 2 * len(site.articles)
        assert site.min_gap(requests) >= gap - JITTER  # as the site saw them
        assert not site.requested("/private/")

    plan = expected(site.articles)
    engine = create_engine(clean_db)
    with engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
        assert q("SELECT count(*) FROM document") == [(plan.documents,)]
        assert q("SELECT count(*), count(DISTINCT document_id) FROM document_version") == \
            [(plan.documents, plan.documents)]
        assert dict(q("SELECT entity, count(*) FROM current_mentions GROUP BY 1")) == \
            plan.mentions_by_entity
        assert q("SELECT count(*) FROM (SELECT version_id, entity_id, zone, start_offset "
                 "FROM mention GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d") == [(0,)]
        assert q("SELECT flow_name, run_status FROM crawl_run ORDER BY id") == \
            [("ingest", "completed")] * 2
    engine.dispose()
