"""The managed local Prefect server (hubwatch.flows.server), with real processes: one
server however many commands start it, closed to requests without its secret, reused by
flow commands, stopped by ``server stop`` and by ``db stop``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time

import httpx
import psutil
import pytest
from support.filesite import Site
from support.prefect_server import REPO, base_env, hubwatch

pytestmark = [pytest.mark.slow]

PAGE = ("<html><head><title>Greater Bay Area plan</title></head><body><article><h1>Greater Bay "
        "Area</h1><p>" + "The Guangdong-Hong Kong-Macao Greater Bay Area is named in the 15th "
        "Five-Year Plan as an international innovation hub. " * 12 + "</p></article></body></html>")


@pytest.fixture
def managed_env(tmp_path):
    """A private data folder whose flow commands use the managed server; stopped after."""
    env = base_env() | {"HUBWATCH_DATA_DIR": str(tmp_path / "data"),
                        "PREFECT_HOME": str(tmp_path / "prefect-home"),
                        "HUBWATCH_PREFECT_SERVER": "managed", "HUBWATCH_HOST_DELAY_SECONDS": "0",
                        "HUBWATCH_RETRIES": "0"}
    yield env
    run(env, "db", "stop")


def run(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(hubwatch(*args), cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def state(env: dict) -> dict | None:
    path = os.path.join(env["HUBWATCH_DATA_DIR"], "prefect", "server.json")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def prefect_servers(data_dir: str) -> list[int]:
    """Pids of live ``prefect server start`` processes using this data folder."""
    pids = []
    for proc in psutil.process_iter(["cmdline", "environ", "status"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            home = (proc.info["environ"] or {}).get("PREFECT_HOME", "")
        except psutil.Error:
            continue
        if "prefect server start" in cmd.replace("-m prefect", "prefect") and \
                home.startswith(data_dir) and proc.info["status"] != psutil.STATUS_ZOMBIE:
            pids.append(proc.pid)
    return pids


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_start_twice_one_server_closed_and_stopped(managed_env):
    data_dir = managed_env["HUBWATCH_DATA_DIR"]
    assert "not running" in run(managed_env, "server", "status").stdout
    # Two commands at once: the lock makes one server, both report it.
    starts = [subprocess.Popen(hubwatch("server", "start"), cwd=REPO, env=managed_env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in starts]
    assert [p.returncode for p in starts] == [0, 0], outputs
    recorded = state(managed_env)
    assert recorded is not None and all(f"pid {recorded['pid']}" in o for o in outputs), outputs
    assert prefect_servers(data_dir) == [recorded["pid"]]
    again = run(managed_env, "server", "start")
    assert again.returncode == 0 and f"pid {recorded['pid']}" in again.stdout
    assert prefect_servers(data_dir) == [recorded["pid"]]
    state_file = os.path.join(data_dir, "prefect", "server.json")
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(state_file)).st_mode) == 0o700

    status = run(managed_env, "server", "status").stdout
    assert "running" in status and f"pid {recorded['pid']}" in status
    assert f"127.0.0.1:{recorded['port']}/api" in status and recorded["auth_string"] not in status

    api = f"http://127.0.0.1:{recorded['port']}/api"
    assert httpx.get(f"{api}/admin/version", timeout=10).status_code == 401
    assert httpx.post(f"{api}/flows/filter", json={}, timeout=10).status_code == 401
    wrong = httpx.post(f"{api}/flows/filter", json={}, auth=("hubwatch", "wrong"), timeout=10)
    assert wrong.status_code == 401
    user, secret = recorded["auth_string"].split(":", 1)
    assert httpx.post(f"{api}/flows/filter", json={}, auth=(user, secret), timeout=10).status_code == 200

    stopped = run(managed_env, "server", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not alive(recorded["pid"]) and state(managed_env) is None
    assert prefect_servers(data_dir) == []
    assert "not running" in run(managed_env, "server", "status").stdout
    assert "no Prefect server was running" in run(managed_env, "server", "stop").stdout


def test_flow_commands_start_then_reuse_it_and_db_stop_stops_both(managed_env):
    """Two ``hubwatch ingest -u URL`` in a row: the first starts the server, the second
    reuses it (same pid), both flow runs are on it; PostgreSQL stays up with it; ``db
    stop`` stops both."""
    files = {"/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain"),
             "/plan.html": (PAGE.encode(), "text/html; charset=utf-8")}
    with Site(files) as site:
        url = f"http://{site.host}/plan.html"
        first = run(managed_env, "ingest", "-u", url)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "View at" not in first.stdout + first.stderr  # no dashboard: no link to one
        recorded = state(managed_env)
        assert recorded is not None and alive(recorded["pid"]), "the first flow command started no server"
        later = run(managed_env, "ingest", "-u", url)
        assert later.returncode == 0, later.stdout + later.stderr
    assert state(managed_env) == recorded and alive(recorded["pid"])  # reused, not restarted
    assert prefect_servers(managed_env["HUBWATCH_DATA_DIR"]) == [recorded["pid"]]
    user, secret = recorded["auth_string"].split(":", 1)
    runs = httpx.post(f"http://127.0.0.1:{recorded['port']}/api/flow_runs/filter",
                      json={"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}},
                      auth=(user, secret), timeout=10).json()
    assert len(runs) == 2  # both commands' flow runs are on the managed server
    assert [p for p, status in site.log if p == "/plan.html"] == ["/plan.html"] * 2

    # The Prefect server's lease keeps the embedded PostgreSQL up after the commands ended
    # (its supervisor stops an unused server within a second once its 5 s grace is over).
    time.sleep(8)
    pg_pidfile = os.path.join(managed_env["HUBWATCH_DATA_DIR"], "pg", "postmaster.pid")
    with open(pg_pidfile) as handle:
        postgres = int(handle.readline())
    assert alive(postgres) and "running" in run(managed_env, "db", "status").stdout
    out = run(managed_env, "db", "stop").stdout
    assert "Prefect server stopped" in out and "stopped" in out.splitlines()[-1]
    assert not alive(recorded["pid"]) and state(managed_env) is None
    assert not alive(postgres)  # db stop waits for the postmaster to exit
