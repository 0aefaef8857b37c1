"""``hubwatch ingest`` (the real CLI, the ``ingest`` flow in-process under a temporary
Prefect server) gets SIGTERM mid-crawl: it exits within 10 s with status 143, its
``crawl_run`` is ``cancelled`` with the reason, and it recorded a snapshot for each page it
finished and none for the others (issue 16)."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from sqlalchemy import create_engine, text
from support.hostilesite import HostileSite
from support.prefect_server import REPO, base_env, hubwatch, wait_until

pytestmark = [pytest.mark.slow]


def test_sigterm_cancels_the_cli_run(pg_url, tmp_path):
    with HostileSite(slow_pages=300, slow_seconds=1.0) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            f"sources:\n  - slug: hostile\n    name: Hostile site\n    kind: commentary\n"
            f"    language: en\n    allowed_hosts: ['{site.host}']\n    delay_seconds: 0\n"
            f"    max_pages: 300\n    discovery:\n      - type: listing\n"
            f"        url: {site.url('/slow-listing.html')}\n        selector: 'ul.list a'\n",
            encoding="utf-8")
        env = base_env() | {"DATABASE_URL": pg_url, "HUBWATCH_SOURCES_FILE": str(sources),
                            "HUBWATCH_DATA_DIR": str(tmp_path / "data"),
                            "PREFECT_HOME": str(tmp_path / "prefect"),
                            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                            "HUBWATCH_HOST_DELAY_SECONDS": "0"}
        log = tmp_path / "ingest.log"
        with log.open("w") as out:
            proc = subprocess.Popen(hubwatch("ingest", "-s", "hostile"), cwd=REPO, env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
            try:
                wait_until(lambda: site.count("/slow/") >= 20, 180, "20 slow pages requested", log)
                sent = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(timeout=60)
                took = time.monotonic() - sent
            finally:
                proc.kill()
        requested = site.count("/slow/")
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        run = conn.execute(text("SELECT run_status, error_message, counts FROM crawl_run"
                                " ORDER BY id DESC LIMIT 1")).one()
        pages = conn.execute(text("SELECT outcome FROM snapshot WHERE purpose = 'page'")).scalars().all()
        conn.execute(text("TRUNCATE mention, version_match, snapshot, document_version, document_url,"
                          " document, crawl_run, alias, entity, source RESTART IDENTITY CASCADE"))
    engine.dispose()
    print(f"\nhubwatch ingest: SIGTERM to exit {took:.1f} s, exit {code}, {len(pages)} pages recorded "
          f"of {requested} requested")
    assert code == 128 + signal.SIGTERM and took < 10, log.read_text()[-3000:]
    assert run.run_status == "cancelled" and run.error_message == "cancelled by SIGTERM"
    assert 0 < len(pages) <= requested < 300 and set(pages) == {"ok"}
    assert run.counts["pages_fetched"] == len(pages)
