"""Crash safety: ``hubwatch run`` (the nightly) over a 300-page site, SIGKILLed at up to
five random points and re-run each time, ends with the same documents, URLs, versions and
mentions as one uninterrupted run; after every kill nothing is half written.

The kill points are chosen by progress (pages recorded so far in the killed run), from a
seeded random generator: the same points on every run (``DEFAULT_SEED``); set
``HUBWATCH_CRASH_SEED`` to try others or replay a failure seen with one.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest
from sqlalchemy import create_engine, text
from support.prefect_server import REPO, PrefectServer, hubwatch
from support.sitegen import SiteServer, write_sources

pytestmark = [pytest.mark.slow]
PAGES, KILLS = 300, 5
DEFAULT_SEED = 20261201
TABLES = "mention, snapshot, document_version, document_url, document, crawl_run, alias, entity, source"

CONTENT = {
    "documents": "SELECT canonical_url, gone_at IS NULL FROM document",
    "urls": "SELECT u.url, d.canonical_url FROM document_url u JOIN document d ON d.id = u.document_id",
    "versions": """SELECT d.canonical_url, v.version_no, v.content_hash, v.title, v.published_at,
                          v.language, v.valid_to IS NULL
                   FROM document_version v JOIN document d ON d.id = v.document_id""",
    "mentions": """SELECT d.canonical_url, v.version_no, e.key, m.zone, m.start_offset,
                          m.end_offset, m.surface
                   FROM mention m JOIN document_version v ON v.id = m.version_id
                   JOIN document d ON d.id = v.document_id JOIN entity e ON e.id = m.entity_id""",
}
HALF_WRITTEN = {
    "document without a version": """SELECT count(*) FROM document d WHERE NOT EXISTS
                                      (SELECT 1 FROM document_version v WHERE v.document_id = d.id)""",
    "document without a current version": """SELECT count(*) FROM document d WHERE NOT EXISTS
        (SELECT 1 FROM document_version v WHERE v.document_id = d.id AND v.valid_to IS NULL)""",
    "ok page snapshot without its version": """SELECT count(*) FROM snapshot s
        WHERE s.purpose = 'page' AND s.outcome = 'ok' AND s.document_id IS NULL""",
}


def content(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {name: sorted(conn.execute(text(sql)).all()) for name, sql in CONTENT.items()}


def count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def start_run(env: dict, log_path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(hubwatch("run"), cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT)


def kill_after(proc: subprocess.Popen, engine, snapshots: int, timeout: float = 600) -> bool:
    """SIGKILL ``proc`` once the database holds ``snapshots`` snapshots; False if it ended first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if count(engine, "SELECT count(*) FROM snapshot") >= snapshots:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.05)
    return False


def test_nightly_killed_five_times_ends_like_one_clean_run(clean_db, tmp_path):
    seed = int(os.environ.get("HUBWATCH_CRASH_SEED", DEFAULT_SEED))
    rng = random.Random(seed)
    server = PrefectServer.shared()
    engine = create_engine(clean_db)
    log_path = tmp_path / "runs.log"
    with SiteServer(pages=PAGES, page_size=50) as site:
        sources = write_sources(tmp_path / "sources.yaml", site, discovery=("listing",))
        env = server.hubwatch_env(tmp_path / "home", DATABASE_URL=clean_db, HUBWATCH_RETRIES="1",
                                  HUBWATCH_SOURCES_FILE=str(sources))
        assert start_run(env, log_path).wait(900) == 0, log_path.read_text()[-3000:]
        reference = content(engine)
        assert len(reference["documents"]) == PAGES

        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        killed = []
        for _ in range(KILLS):
            # A re-run fetches the pages not stored yet: the stored ones are not due for a
            # recheck (the schedule), so the kill point is chosen within what is left.
            remaining = PAGES - count(engine, "SELECT count(*) FROM document")
            if remaining < 2:
                break
            before = count(engine, "SELECT count(*) FROM snapshot")
            target = before + rng.randint(1, remaining - 1)
            proc = start_run(env, log_path)
            killed.append(kill_after(proc, engine, target))
            for what, sql in HALF_WRITTEN.items():
                assert count(engine, sql) == 0, (what, seed)
        assert len(killed) >= 2 and killed == [True] * len(killed), (killed, seed)
        assert start_run(env, log_path).wait(900) == 0, log_path.read_text()[-3000:]

    final = content(engine)
    for name in CONTENT:
        assert final[name] == reference[name], (name, seed)
    statuses = count(engine, "SELECT count(*) FROM crawl_run WHERE run_status = 'completed'")
    assert statuses >= 1
    engine.dispose()
