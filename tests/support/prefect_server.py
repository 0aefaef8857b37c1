"""A real ``prefect server start`` (SQLite, 127.0.0.1, a free port) and hubwatch
subprocesses pointed at it, for the end-to-end, parallel-run and crash-safety tests.

``PrefectServer.shared()`` starts one server per pytest process, on first use, in a
temporary ``PREFECT_HOME``; it is stopped when the process exits. ``api(...)`` calls the
server's REST API; ``hubwatch_env(...)`` is the environment for a hubwatch child process.
Telemetry and the UI are off (fresh SQLite databases otherwise log "database is locked").
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
#: Prefect settings every child process gets: private home, no telemetry, quick polling.
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
         "PREFECT_RUNNER_POLL_FREQUENCY": "2", "PREFECT_WORKER_QUERY_SECONDS": "2",
         "PREFECT_LOGGING_LEVEL": "INFO"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrefectServer:
    """One ``prefect server start`` child process."""

    _shared: PrefectServer | None = None

    def __init__(self, home: Path, port: int | None = None) -> None:
        self.home, self.port = home, port or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log_path = home / "server.log"
        self.proc: subprocess.Popen | None = None

    @classmethod
    def shared(cls) -> PrefectServer:
        """The pytest process's server, started on first use."""
        if cls._shared is None:
            server = cls(Path(tempfile.mkdtemp(prefix="hubwatch-prefect-server-")))
            server.start()
            atexit.register(server.stop)
            cls._shared = server
        return cls._shared

    def start(self, timeout: float = 180) -> None:
        env = base_env() | {"PREFECT_HOME": str(self.home),
                            "PREFECT_API_DATABASE_CONNECTION_URL":
                                f"sqlite+aiosqlite:///{self.home / 'prefect.db'}"}
        env.pop("PREFECT_API_URL", None)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self._healthy, timeout, f"Prefect server on {self.api_url}", self.log_path)

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"prefect server exited: {self.log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc)

    def api(self, method: str, path: str, json: Any = None) -> Any:
        """Call the REST API; returns the decoded JSON (None for an empty body)."""
        r = httpx.request(method, f"{self.api_url}{path}", json=json, timeout=30)
        r.raise_for_status()
        return r.json() if r.content else None

    def deployment(self, name: str) -> dict | None:
        """``flow/deployment`` by name, or None while it is not registered."""
        r = httpx.get(f"{self.api_url}/deployments/name/{name}", timeout=10)
        return r.json() if r.status_code == 200 else None

    def flow_run(self, run_id: str) -> dict:
        return self.api("GET", f"/flow_runs/{run_id}")

    def logs(self, run_id: str) -> list[str]:
        rows = self.api("POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}},
                                                 "limit": 200})
        return [f"{row['name']}: {row['message']}" for row in rows]

    def wait_final(self, run_id: str, timeout: float = 300) -> dict:
        """The flow run once its state is final (COMPLETED, FAILED, CANCELLED, CRASHED)."""
        final = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
        box: dict = {}

        def done() -> bool:
            box["run"] = self.flow_run(run_id)
            return (box["run"].get("state") or {}).get("type") in final

        wait_until(done, timeout, f"flow run {run_id} to finish")
        return box["run"]

    def hubwatch_env(self, home: Path, **extra: str) -> dict[str, str]:
        """Environment for a hubwatch child process using this server."""
        home.mkdir(parents=True, exist_ok=True)
        return base_env() | {"PREFECT_API_URL": self.api_url, "PREFECT_HOME": str(home)} | extra


def base_env() -> dict[str, str]:
    """This process's environment without hubwatch/Prefect settings, plus ``QUIET``.

    Without ``PREFECT_API_URL`` a flow command uses Prefect's temporary server (it ends
    with the command), never a managed server that would outlive the test: a test that
    wants one sets ``HUBWATCH_PREFECT_SERVER=managed`` and stops it.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "HUBWATCH_")) and k != "DATABASE_URL"}
    return env | QUIET | {"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1",
                          "HUBWATCH_PREFECT_SERVER": "temporary"}


def hubwatch(*args: str) -> list[str]:
    """Command line of ``hubwatch ARGS`` run by this interpreter."""
    return [sys.executable, "-m", "hubwatch", *args]


def wait_until(check, timeout: float, what: str, log: Path | None = None,
               interval: float = 0.5) -> None:
    """Poll ``check()`` until true; AssertionError after ``timeout`` seconds (a safety bound)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tail}")


def stop_process(proc: subprocess.Popen, timeout: float = 30) -> int:
    """SIGTERM the process's group (it was started with start_new_session), then SIGKILL."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        return proc.wait(timeout)
    except ProcessLookupError:
        return proc.wait()
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()
