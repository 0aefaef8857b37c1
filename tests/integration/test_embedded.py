"""The embedded PostgreSQL launcher: UTF-8 cluster, lifetime tied to the command that
started it (SIGKILL included), reuse of a running server, ``hubwatch db start|stop``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from hubwatch.models.embedded import (
    ANALYST_USER,
    APP_USER,
    SUPERUSER,
    EmbeddedPostgres,
    ServerInfo,
    server_uid,
)

pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                                reason="embedded server tests run when DATABASE_URL is unset")
REPO = Path(__file__).resolve().parents[2]


def _conninfo(info: ServerInfo, database: str = "hubwatch", user: str = APP_USER) -> str:
    """libpq URL (psycopg) of ``info.url``: the same secret, without SQLAlchemy's driver."""
    return info.url(database, user=user).replace("postgresql+psycopg://", "postgresql://")


def _gone(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_cluster_is_utf8_and_trigrams_work_on_chinese(tmp_path):
    parent_mode = tmp_path.stat().st_mode
    server = EmbeddedPostgres(tmp_path / "data")
    info = server.start(detached=False)
    try:
        with psycopg.connect(_conninfo(info), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            assert conn.execute("SELECT datctype FROM pg_database WHERE datname = 'hubwatch'"
                                ).fetchone()[0] == "C.UTF-8"
            assert conn.execute("SELECT array_length(show_trgm('京津冀协同发展'), 1)"
                                ).fetchone()[0] > 0
        # The cluster belongs to the server's uid (ours, or the unprivileged one when we
        # are root); no user is created, no folder above it is opened up.
        assert (tmp_path / "data" / "pg").stat().st_uid == (server_uid() or os.geteuid())
        assert tmp_path.stat().st_mode == parent_mode
    finally:
        server.stop_child()
    assert _gone(info.pid)


CHILD = """
import sys, time
from pathlib import Path
from hubwatch.models.embedded import EmbeddedPostgres
info = EmbeddedPostgres(Path(sys.argv[1])).start(detached=False)
print(info.pid, flush=True)
time.sleep(600)
"""


def test_server_dies_with_a_sigkilled_command(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "data")],
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    pid = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _gone(pid), "postgres outlived the command that started it"
    assert EmbeddedPostgres(tmp_path / "data").running() is None


def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "hubwatch", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_db_start_reuse_and_stop(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["HUBWATCH_DATA_DIR"] = str(tmp_path / "data")
    started = _cli("db", "start", env=env)
    assert started.returncode == 0, started.stderr
    server = EmbeddedPostgres(tmp_path / "data")
    info = server.running()
    assert info is not None
    try:
        query = _cli("sql", "-c", "SELECT count(*) FROM source", env=env)
        assert query.returncode == 0, query.stderr
        assert server.running() == info, "a command must leave a running server running"
        status = _cli("db", "status", env=env)
        assert f"port {info.port}" in status.stdout
        outputs = [started, query, status]
    finally:
        stopped = _cli("db", "stop", env=env)
    assert stopped.returncode == 0 and _gone(info.pid)
    # No command prints a secret, nor does the server's log hold one.
    secrets = [p.read_text().strip() for p in server.secrets_dir.iterdir()]
    assert len(secrets) == 3 and all(len(s) >= 32 for s in secrets)
    printed = "".join(r.stdout + r.stderr for r in [*outputs, stopped])
    printed += (tmp_path / "data" / "postgres.log").read_text(errors="replace")
    assert not [s for s in secrets if s in printed]


AS_USER = """
import os, sys
from pathlib import Path
from hubwatch.models.embedded import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]))
info = server.start(detached=False)
import psycopg
url = info.url().replace("postgresql+psycopg://", "postgresql://")
with psycopg.connect(url) as c:
    print(os.geteuid(), c.execute("SELECT 1").fetchone()[0])
server.stop_child()
"""


def _system_python() -> str | None:
    """A Python of this minor version that an unprivileged user can execute."""
    import shutil

    for candidate in (f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}",):
        if os.access(candidate, os.X_OK) and shutil.which("runuser"):
            return candidate
    return None


@pytest.mark.skipif(os.geteuid() != 0 or _system_python() is None,
                    reason="needs root (to switch to nobody) and a system Python of this version")
def test_runs_as_a_normal_user_too():
    import shutil
    import site
    import tempfile

    tmp_path = Path(tempfile.mkdtemp(prefix="hubwatch-nobody-"))  # pytest's tmp is root-only
    tmp_path.chmod(0o777)
    import hubwatch

    # The folder the installed package is imported from (a strict editable install's link
    # tree, or site-packages), unresolved: resolving links would lead into the checkout.
    package_root = str(Path(hubwatch.__file__).parent.parent)
    paths = [p for p in site.getsitepackages() if Path(p).exists()] + [package_root]
    for path in paths:  # e.g. a checkout under a private temporary folder, as in CI
        if subprocess.run(["runuser", "-u", "nobody", "--", "ls", path],
                          capture_output=True).returncode != 0:
            shutil.rmtree(tmp_path, ignore_errors=True)
            pytest.skip(f"{path} is not readable by nobody")
    proc = subprocess.run(
        ["runuser", "-u", "nobody", "--", "env", f"HOME={tmp_path}",
         f"PYTHONPATH={os.pathsep.join(paths)}", _system_python(), "-c", AS_USER,
         str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert proc.stdout.split() == ["65534", "1"]


# -- closed: passwords, owner-only secrets, no superuser for the application, never root --

@pytest.fixture(scope="module")
def closed_server(tmp_path_factory):
    server = EmbeddedPostgres(tmp_path_factory.mktemp("closed") / "data")
    info = server.start(detached=False)
    yield server, info
    server.stop_child()


@pytest.mark.parametrize("user", [SUPERUSER, APP_USER, ANALYST_USER])
def test_wrong_or_no_password_is_refused(closed_server, user):
    _, info = closed_server
    for password in ("wrong-password", ""):
        with pytest.raises(psycopg.OperationalError) as failed:
            psycopg.connect(host="127.0.0.1", port=info.port, user=user, dbname="hubwatch",
                            password=password, connect_timeout=5)
        assert "password" in str(failed.value)


def test_secrets_are_owner_only_and_no_socket_file(closed_server):
    server, _ = closed_server
    assert server.secrets_dir.stat().st_mode & 0o777 == 0o700
    for path in server.secrets_dir.iterdir():
        st = path.stat()
        assert (st.st_uid, st.st_mode & 0o777) == (os.geteuid(), 0o600), path
    # TCP with SCRAM only: no Unix socket anyone could reach.
    assert not list(server.pgdata.glob(".s.PGSQL.*"))
    assert not list(Path("/tmp").glob(f".s.PGSQL.{server.running().port}*"))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another OS user")
def test_another_os_user_cannot_get_in(closed_server):
    """Another local user can read no secret and, without one, connect as no role."""
    server, info = closed_server
    other = 54321  # no such user: nothing of it exists on the machine
    assert other != server_uid()
    pid = os.fork()
    if pid == 0:  # the child becomes the other user; it reports through its exit code
        code = 0
        try:
            os.setgroups([])
            os.setgid(other)
            os.setuid(other)
            try:
                (server.secrets_dir / "app").read_text()
                code |= 1
            except PermissionError:
                pass
            for user in (SUPERUSER, APP_USER, ANALYST_USER):
                try:
                    psycopg.connect(host="127.0.0.1", port=info.port, user=user,
                                    dbname="hubwatch", connect_timeout=5).close()
                    code |= 2
                except psycopg.OperationalError:
                    pass
        except BaseException:
            code |= 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_application_role_is_no_superuser_and_reaches_no_server_file(closed_server):
    _, info = closed_server
    with psycopg.connect(_conninfo(info), autocommit=True) as conn:
        row = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                           "WHERE rolname = current_user").fetchone()
        assert row == (False, False, False)
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database "
                             "WHERE datname = 'hubwatch'").fetchone()[0]
        assert owner == APP_USER
        for statement in ("COPY (SELECT 1) TO PROGRAM 'id'",
                          "SELECT pg_read_file('/etc/hostname')",
                          "SELECT pg_ls_dir('.')",
                          "CREATE ROLE intruder SUPERUSER",
                          "ALTER SYSTEM SET log_statement = 'all'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_server_process_is_not_root(closed_server):
    _, info = closed_server
    uids = [int(x) for x in Path(f"/proc/{info.pid}/status").read_text()
            .split("Uid:")[1].split("\n")[0].split()]
    assert 0 not in uids  # real, effective, saved and filesystem uid
    if os.geteuid() == 0:
        assert set(uids) == {server_uid()}


@pytest.mark.skipif(os.geteuid() != 0, reason="shows what a root-run hubwatch's server can reach")
def test_even_the_superuser_cannot_read_roots_files(closed_server):
    """Server-side file access runs with the server's uid: root's files stay closed."""
    _, info = closed_server
    secret = Path("/etc/shadow")
    if not secret.exists() or secret.stat().st_mode & 0o004:
        pytest.skip("/etc/shadow missing or world-readable here")
    with psycopg.connect(_conninfo(info, "postgres", SUPERUSER), autocommit=True) as conn:
        with pytest.raises(psycopg.Error, match="[Pp]ermission denied"):
            conn.execute("SELECT pg_read_file('/etc/shadow')")


def test_analyst_login_is_limited_on_the_embedded_server(closed_server):
    _, info = closed_server
    with psycopg.connect(_conninfo(info, user=ANALYST_USER), autocommit=True) as conn:
        limit, config = conn.execute("SELECT rolconnlimit, rolconfig FROM pg_roles "
                                     "WHERE rolname = current_user").fetchone()
        assert 0 < limit <= 20
        assert any(c.startswith("statement_timeout=") for c in config)
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "1min"
        assert conn.execute("SHOW transaction_read_only").fetchone()[0] == "on"
        # Read-only is only a default the session may change: the rights must hold anyway.
        conn.execute("SET default_transaction_read_only = off")
        for statement in ("CREATE TEMP TABLE scratch (x int)",
                          "SELECT lo_from_bytea(0, 'x')",
                          "SELECT lo_create(0)",
                          "SELECT lo_export(1, '/tmp/x')",
                          "SELECT pg_read_file('/etc/hostname')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    for other in ("postgres", "template1"):
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(_conninfo(info, other, ANALYST_USER)).close()


# -- shared: one server for commands started together; up while anyone uses it ----------

def _env(data: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["HUBWATCH_DATA_DIR"] = str(data)
    return env


def test_two_commands_started_at_once_share_one_server(tmp_path):
    env = _env(tmp_path / "data")
    query = "SELECT inet_server_port(), pg_postmaster_start_time()"
    procs = [subprocess.Popen([sys.executable, "-m", "hubwatch", "sql", "-c", query], env=env,
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1][-800:] for r in results]
    rows = [next(line for line in r[0].splitlines() if "|" in line and "inet" not in line)
            for r in results]
    assert rows[0] == rows[1], rows  # same port, same start time: one server
    log = (tmp_path / "data" / "postgres.log").read_text()
    assert log.count("starting PostgreSQL") == 1


HOLDER = """
import sys, time
from pathlib import Path
from hubwatch.models.embedded import EmbeddedPostgres
info = EmbeddedPostgres(Path(sys.argv[1])).acquire()
print(info.pid, flush=True)
time.sleep(600)
"""


def test_server_outlives_its_starter_while_another_process_uses_it(tmp_path):
    data = tmp_path / "data"
    starter = subprocess.Popen([sys.executable, "-c", HOLDER, str(data)], cwd=REPO,
                               stdout=subprocess.PIPE, text=True)
    pid = int(starter.stdout.readline())
    user = subprocess.Popen([sys.executable, "-c", HOLDER, str(data)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    assert int(user.stdout.readline()) == pid  # the second process joined the first's server
    starter.kill()
    starter.wait()
    time.sleep(8)  # past the supervisor's start grace and several lease polls
    server = EmbeddedPostgres(data)
    info = server.running()
    assert info is not None and info.pid == pid, "the server stopped under a live user"
    with psycopg.connect(_conninfo(info)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    user.kill()
    user.wait()
    assert _gone(pid), "the server outlived its last user"


@pytest.mark.skipif(os.geteuid() != 0, reason="the copy is made only when the server's uid differs")
def test_server_binaries_are_reachable_by_the_server_uid():
    # As root the server runs as an unprivileged uid, which cannot enter a venv under a
    # private folder: then it runs from a copy nobody else may write.
    from hubwatch.models.embedded import _reachable_by_others, bin_dir, server_bin_dir

    chosen = server_bin_dir()
    assert _reachable_by_others(chosen / "postgres") and _reachable_by_others(chosen / "initdb")
    if chosen != bin_dir():
        top = chosen.parents[2]
        assert top.stat().st_uid == os.geteuid() and not top.stat().st_mode & 0o022
        assert (top / ".complete").exists()
