"""Peak memory of fetching every fault, measured from outside the fetching process.

The fault server runs in this (test) process; the fetching runs in a child, whose
peak RSS is read from ``/usr/bin/time -v`` (the kernel's own count for the child)
or, where that tool is missing, sampled with psutil.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
from support.faultserver import ARTICLES, CRAWL_FAULTS, FaultServer

REPO = Path(__file__).resolve().parents[2]
LIMIT_MB = 500
SAFETY_SECONDS = 300


def _run_child(cmd: list[str]) -> tuple[str, float]:
    """Run ``cmd``; return its stdout and peak RSS in MB."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
    time_bin = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if time_bin:
        proc = subprocess.run([time_bin, "-v", *cmd], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=SAFETY_SECONDS)
        assert proc.returncode == 0, proc.stderr[-2000:]
        kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
        return proc.stdout, kb / 1024
    proc = psutil.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    peak, deadline = 0, time.monotonic() + SAFETY_SECONDS
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            peak = max(peak, proc.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    out, _ = proc.communicate(timeout=10)
    return out, peak / 1024 / 1024


def test_fetching_all_faults_stays_under_500_mb():
    FaultServer.warm()
    with FaultServer() as site:
        out, peak_mb = _run_child([sys.executable, "-m", "support.fetch_all_faults", site.host, "4"])
        assert site.requested("/private/") == [] and site.internal_log == []
    print(f"\npeak RSS of the fetching process: {peak_mb:.0f} MB (limit {LIMIT_MB} MB)")
    lines = {d["path"]: d for d in map(json.loads, out.splitlines())}
    assert all(lines[p]["outcome"] == "ok" for p in ARTICLES)
    for fault in CRAWL_FAULTS:
        assert lines[fault.path]["outcome"] == fault.fetch_outcome, lines[fault.path]
    assert str(20 * 1024 * 1024) in lines["/fault/huge"]["error"]  # the default cap, after decompression
    assert peak_mb < LIMIT_MB
