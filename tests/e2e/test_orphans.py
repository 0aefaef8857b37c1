"""A SIGKILLed command leaves nothing running: neither Prefect's temporary API server
nor (once no other process uses it) the embedded PostgreSQL it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                                reason="uses the embedded server (DATABASE_URL unset)")


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return []
        time.sleep(0.2)
    return alive


def test_killed_flow_command_leaves_no_prefect_server(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_API") and k not in ("DATABASE_URL",)}
    env.update(HUBWATCH_DATA_DIR=str(tmp_path / "data"), PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", HUBWATCH_RETRIES="0",
               HUBWATCH_PREFECT_SERVER="temporary")  # the server that dies with the command
    # Port 9 (discard) refuses at once: the run itself is short, the server start is not.
    proc = subprocess.Popen([sys.executable, "-m", "hubwatch", "ingest", "--url",
                             "http://127.0.0.1:9/nothing.html"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    uvicorn = None
    deadline = time.monotonic() + 240
    while uvicorn is None and time.monotonic() < deadline and proc.poll() is None:
        for child in parent.children(recursive=True):
            try:
                if "uvicorn" in " ".join(child.cmdline()):
                    uvicorn = child.pid
            except psutil.Error:
                pass
        time.sleep(0.1)
    assert uvicorn is not None, "the command never started Prefect's temporary server"
    postgres = None
    pidfile = tmp_path / "data" / "pg" / "postmaster.pid"
    if pidfile.exists():
        postgres = int(pidfile.read_text().split()[0])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _wait_gone([uvicorn], 20) == [], "Prefect's temporary server outlived the command"
    if postgres is not None:
        assert _wait_gone([postgres], 30) == [], "the embedded server outlived its only user"
