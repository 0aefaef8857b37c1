"""hubwatch's own local Prefect API server: started once, reused by later commands.

Without ``PREFECT_API_URL`` a flow command would otherwise start Prefect's temporary
server for itself (seconds before any work, every time). Here the first flow command (or
``hubwatch server start``) starts ``prefect server start`` detached in its own session,
and every later command finds it through a state file and only checks that it answers.
It runs until ``hubwatch server stop`` or ``hubwatch db stop``.

Rules this manager follows (they mirror the embedded PostgreSQL's, models/embedded.py):

* **Its own folder.** ``HUBWATCH_DATA_DIR/prefect/`` (0700) holds the server's SQLite
  database (``prefect.db``: never hubwatch's database, Prefect keeps its own
  ``alembic_version``), its log (``server.log``), its ``PREFECT_HOME`` (``home/``), the
  start lock and the state file.
* **Closed.** It listens on 127.0.0.1 only, and every API request must carry HTTP basic
  auth (Prefect's ``PREFECT_SERVER_API_AUTH_STRING``), a random secret made at each
  start. The dashboard is off unless ``PREFECT_UI_ENABLED`` says otherwise. Prefect leaves
  ``GET /api/health`` and ``/api/ready`` open (probes); nothing else answers without it.
* **State.** ``server.json`` (0600, written under a temporary name and renamed): pid, port,
  the process's start time (a recycled pid never passes for the server), the start time
  of the record and the secret. No secret is printed.
* **Once.** Starting is serialised by an ``flock`` on ``start.lock``: of two commands
  started together, the second finds the first one's record and waits for that server.
  The lock covers reading the record and spawning only; waiting for the server to answer
  happens outside it, so a command can prepare its database meanwhile.
* **PostgreSQL kept with it.** With the embedded PostgreSQL, the server holds a lease on
  it (an inherited, locked lease file: models/embedded.py): the database stays up while
  the Prefect server runs, so a later command starts neither. ``hubwatch server stop``
  lets it stop once no command uses it; ``hubwatch db stop`` stops both.
* This module does not import Prefect: a command that reuses a running server pays for
  nothing but one HTTP request here.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hubwatch.models.embedded import FileLock

#: The client settings this manager sets for a process that uses the server.
CLIENT_SETTINGS = ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")
_AUTH_USER = "hubwatch"
_POLL_SECONDS = 0.1


class ServerError(RuntimeError):
    """The managed Prefect server could not be started, reached or stopped."""


@dataclass(frozen=True)
class ServerState:
    """A started server as its state file records it.

    ``pid``: the ``prefect server start`` process (leader of its own session);
    ``create_time``: that process's start time (seconds since the epoch, as the kernel
    says), so a recycled pid is never taken for it; ``started_at``: when hubwatch started
    it (seconds since the epoch); ``auth_string``: ``user:secret`` for HTTP basic auth;
    ``dashboard``: whether it serves Prefect's UI (``_dashboard`` of its environment).
    """

    pid: int
    port: int
    create_time: float
    started_at: float
    auth_string: str
    dashboard: bool = False

    @property
    def api_url(self) -> str:
        """The API's base URL, as ``PREFECT_API_URL`` takes it."""
        return f"http://127.0.0.1:{self.port}/api"

    def client_env(self) -> dict[str, str]:
        """``PREFECT_API_URL`` and ``PREFECT_API_AUTH_STRING`` for a client of this server
        (holds the secret: pass it on, never print it). Without a dashboard, also an empty
        ``PREFECT_UI_URL`` (unless the environment or the Prefect profile sets one): else
        Prefect derives the UI's address from the API's and logs a "View at" link for each
        flow run that leads nowhere."""
        env = {"PREFECT_API_URL": self.api_url, "PREFECT_API_AUTH_STRING": self.auth_string}
        if not self.dashboard and "PREFECT_UI_URL" not in os.environ and not _profile_setting("PREFECT_UI_URL"):
            env["PREFECT_UI_URL"] = ""
        return env

    def __repr__(self) -> str:  # never the secret
        return f"ServerState(pid={self.pid}, port={self.port})"


class ManagedServer:
    """The server of one data folder (``data_dir / "prefect"``).

    Args:
        data_dir: ``HUBWATCH_DATA_DIR``.
        port: TCP port a server started now listens on; 0: a free one.
        start_timeout: seconds to wait for a started server to answer, and for the lock.
        lease_dir: the embedded PostgreSQL's run folder, or None (``DATABASE_URL``): a
            server started now holds a lease on it (models/embedded.py), so the embedded
            PostgreSQL stays up while the Prefect server runs and later commands find both
            running; it stops once the Prefect server is stopped and no command uses it.
    """

    def __init__(self, data_dir: Path, *, port: int = 0, start_timeout: float = 180.0,
                 lease_dir: Path | None = None) -> None:
        self.folder = Path(data_dir) / "prefect"
        self.lease_dir = lease_dir
        self.state_file = self.folder / "server.json"
        self.lock_file = self.folder / "start.lock"
        self.log_file = self.folder / "server.log"
        self.database = self.folder / "prefect.db"
        self.home = self.folder / "home"
        self.port, self.start_timeout = port, start_timeout

    # -- state -----------------------------------------------------------------------
    def recorded(self) -> ServerState | None:
        """The state file's server if its process still lives (started or starting), else
        None. A record whose process is gone is left for the next start to replace."""
        try:
            state = ServerState(**json.loads(self.state_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        return state if _same_process(state.pid, state.create_time) else None

    def running(self) -> ServerState | None:
        """The recorded server if it lives and answers an authenticated request now."""
        state = self.recorded()
        return state if state is not None and answers(state) else None

    # -- lifecycle -------------------------------------------------------------------
    def acquire(self, *, wait: bool = True) -> ServerState:
        """The running server, started if none runs (idempotent).

        With ``wait`` False it returns as soon as a server is recorded (maybe still
        starting); call :meth:`wait_ready` before using it.

        Raises:
            ServerError: the lock was not had in time, or the server exited or did not
                answer within ``start_timeout`` (the message quotes its log).
        """
        with FileLock(self.lock_file, self.start_timeout, what="the Prefect server", error=ServerError, dir_mode=0o700):
            state = self.recorded()
            if state is None:
                state = self._spawn()
        return self.wait_ready(state) if wait else state

    def wait_ready(self, state: ServerState) -> ServerState:
        """Wait until ``state``'s server answers; return it.

        Raises:
            ServerError: it exited, or did not answer within ``start_timeout``.
        """
        deadline = time.monotonic() + self.start_timeout
        while not answers(state):
            if not _same_process(state.pid, state.create_time):
                raise ServerError(f"the Prefect server exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerError(f"the Prefect server did not answer within "
                                  f"{self.start_timeout:.0f} s: {self.log_tail()}")
            time.sleep(_POLL_SECONDS)
        return state

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop the recorded server (SIGTERM to its session, SIGKILL after ``timeout``
        seconds) and remove the state file. Returns False if none ran."""
        if not self.state_file.exists():  # never started here: no folder made for a lock
            return False
        with FileLock(self.lock_file, self.start_timeout, what="the Prefect server", error=ServerError, dir_mode=0o700):
            state = self.recorded()
            if state is not None:
                _stop_group(state.pid, state.create_time, timeout)
            self.state_file.unlink(missing_ok=True)
        return state is not None

    def _spawn(self) -> ServerState:
        """Start ``prefect server start`` detached and record it (under the lock)."""
        for path in (self.folder, self.home):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(path, 0o700)
        port = self.port or _free_port()
        auth = f"{_AUTH_USER}:{secrets.token_urlsafe(32)}"
        log = os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.chmod(self.log_file, 0o600)
        lease = None
        if self.lease_dir is not None:
            from hubwatch.models.embedded import open_lease

            lease = open_lease(self.lease_dir)
        env = self._server_env(auth)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                 "--port", str(port)],
                env=env, cwd=self.folder, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, umask=0o077,
                pass_fds=() if lease is None else (lease,))
        finally:
            os.close(log)
            if lease is not None:
                os.close(lease)  # the server's copy holds the lease now
        state = ServerState(pid=proc.pid, port=port, create_time=_create_time(proc.pid) or 0.0,
                            started_at=time.time(), auth_string=auth,
                            dashboard=_dashboard(env))
        _write_private(self.state_file, json.dumps(asdict(state)))
        return state

    def _server_env(self, auth: str) -> dict[str, str]:
        """The server's environment: ours without client settings, plus its own."""
        env = {k: v for k, v in os.environ.items()
               if k not in (*CLIENT_SETTINGS, "PREFECT_API_KEY", "PREFECT_PROFILE")}
        env.update(PREFECT_HOME=str(self.home), PREFECT_SERVER_API_AUTH_STRING=auth,
                   PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{self.database}")
        env.setdefault("PREFECT_UI_ENABLED", "false")
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        return env

    def log_tail(self, size: int = 1500) -> str:
        """The end of the server's log (for error messages)."""
        try:
            return self.log_file.read_text(errors="replace")[-size:]
        except OSError:
            return "(no log)"


# -- the client side ---------------------------------------------------------------------

def _dashboard(env: dict[str, str]) -> bool:
    """Whether a server started with ``env`` serves Prefect's UI: ``PREFECT_SERVER_UI_ENABLED``
    if set (it takes precedence in Prefect 3.9), else ``PREFECT_UI_ENABLED``, read as
    Prefect's settings (pydantic) read a boolean."""
    value = env.get("PREFECT_SERVER_UI_ENABLED", env.get("PREFECT_UI_ENABLED", "false"))
    return value.strip().lower() in ("1", "true", "t", "yes", "y", "on")


def connect_client(*, wait: bool = True) -> tuple[ManagedServer, ServerState] | None:
    """Point this process's Prefect client (and its child processes) at the managed
    server of ``HUBWATCH_DATA_DIR``, started if none runs.

    Changes nothing and returns None when ``HUBWATCH_PREFECT_SERVER`` is ``temporary``,
    when a server is configured already (:func:`api_url_configured`), or when Prefect was
    imported before (its settings are read once, at import: too late to point it
    elsewhere); Prefect's temporary server is then used as before. Otherwise sets
    ``PREFECT_API_URL`` and ``PREFECT_API_AUTH_STRING`` in ``os.environ`` and returns the
    server and its state; with ``wait`` False the server may still be starting: call
    ``server.wait_ready(state)`` before the first flow.

    Raises:
        ServerError: the server could not be started (see :meth:`ManagedServer.acquire`).
    """
    from hubwatch.config.settings import get_settings

    settings = get_settings()
    if settings.prefect.mode != "managed" or api_url_configured():
        return None
    if "prefect" in sys.modules:
        return None
    server = managed_server(settings)
    state = server.acquire(wait=wait)
    os.environ.update(state.client_env())
    return server, state


def managed_server(settings=None) -> ManagedServer:
    """The managed server of the configured data folder, port and start timeout."""
    from hubwatch.config.settings import get_settings

    settings = settings or get_settings()
    embedded = settings.database_url is None
    return ManagedServer(settings.data_dir, port=settings.prefect.port,
                         start_timeout=settings.prefect.start_timeout,
                         lease_dir=settings.data_dir / "run" if embedded else None)


def answers(state: ServerState, timeout: float = 2.0) -> bool:
    """Whether the server answers ``GET /api/admin/version`` with this state's secret
    (a server without it, or another one on the port, does not count)."""
    token = base64.b64encode(state.auth_string.encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", state.port, timeout=timeout)
    try:
        conn.request("GET", "/api/admin/version", headers={"Authorization": f"Basic {token}"})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def api_url_configured() -> bool:
    """Whether this process's Prefect client already names a server: ``PREFECT_API_URL``
    in the environment or in the active Prefect profile, or (once Prefect is imported,
    e.g. under ``prefect_test_harness``) in Prefect's current settings."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    if "prefect.settings" in sys.modules:
        from prefect.settings import get_current_settings

        return bool(get_current_settings().api.url)
    return bool(_profile_api_url())


def _profile_api_url() -> str | None:
    """``PREFECT_API_URL`` of the active profile in Prefect's profiles file, read without
    importing Prefect (``PREFECT_PROFILES_PATH``, else ``PREFECT_HOME/profiles.toml``)."""
    return _profile_setting("PREFECT_API_URL")


def _profile_setting(name: str) -> str | None:
    """Setting ``name`` of the active Prefect profile (see ``_profile_api_url``), or None."""
    import tomllib

    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or data.get("active") or "ephemeral"
    profile = (data.get("profiles") or {}).get(active) or {}
    return profile.get(name) or None


# -- processes and files -------------------------------------------------------------------

def _create_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _same_process(pid: int, create_time: float) -> bool:
    """Whether ``pid`` lives (not a zombie) and started at ``create_time``."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and abs(proc.create_time() - create_time) < 1.0
    except psutil.Error:
        return False


def _stop_group(pid: int, create_time: float, timeout: float) -> None:
    """SIGTERM the server's session (it leads it: ``start_new_session``), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _same_process(pid, create_time):
                _reap(pid)
                return
            time.sleep(_POLL_SECONDS)


def _reap(pid: int) -> None:
    try:  # our own child only when this process started it
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` mode 0600 from the first byte, atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
