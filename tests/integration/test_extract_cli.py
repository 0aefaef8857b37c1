"""``hubwatch extract URL --format jsonl`` on every faulty page of the fault server: each
ends within its bound and prints its line with ``outcome`` and ``error`` naming the
reason, one line on stderr, and no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.faultserver import ARTICLES, FAULTS, FaultServer

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PAGES = [f for f in FAULTS if not f.path.endswith(".xml")]
SAFETY_SECONDS = 300


def test_extract_every_faulty_page(tmp_path):
    env = dict(os.environ, HUBWATCH_TOTAL_DEADLINE="4", HUBWATCH_READ_TIMEOUT="2",
               HUBWATCH_CONNECT_TIMEOUT="2", HUBWATCH_RETRIES="2", HUBWATCH_BACKOFF_BASE="0.1",
               HUBWATCH_MAX_RETRY_WAIT="5", HUBWATCH_BREAKER_THRESHOLD="50",
               HUBWATCH_HOST_DELAY_SECONDS="0", HUBWATCH_DATA_DIR=str(tmp_path))
    with FaultServer() as site:
        urls = [site.url(f.path) for f in PAGES] + [site.url(ARTICLES[0])]
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "hubwatch", "extract", *urls,
                               "--format", "jsonl"], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=SAFETY_SECONDS)
        elapsed = time.monotonic() - started
        internal_hits = list(site.internal_log)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["url"] for r in records] == urls
    for fault, record in zip(PAGES, records):
        assert record["outcome"] == fault.crawl_outcome, (fault.path, record)
        if fault.crawl_outcome != "ok":
            assert record["error"], fault.path
            assert record["text"] is None
    assert records[-1]["outcome"] == "ok" and records[-1]["mentions"]
    failed = [r for r in records if r["outcome"] != "ok"]
    assert len(proc.stderr.strip().splitlines()) == len(failed)
    assert not internal_hits
    assert elapsed < SAFETY_SECONDS
