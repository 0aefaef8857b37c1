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

from hubwatch.models.embedded import EmbeddedPostgres

pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                                reason="embedded server tests run when DATABASE_URL is unset")
REPO = Path(__file__).resolve().parents[2]


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
        with psycopg.connect(host="127.0.0.1", port=info.port, user="hubwatch",
                             dbname="hubwatch", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            assert conn.execute("SELECT datctype FROM pg_database WHERE datname = 'hubwatch'"
                                ).fetchone()[0] == "C.UTF-8"
            assert conn.execute("SELECT array_length(show_trgm('京津冀协同发展'), 1)"
                                ).fetchone()[0] > 0
        # Files stay owned by the invoking user: no user created, no chmod of parents.
        assert (tmp_path / "data" / "pg").stat().st_uid == os.geteuid()
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
    finally:
        stopped = _cli("db", "stop", env=env)
    assert stopped.returncode == 0 and _gone(info.pid)


AS_USER = """
import os, sys
from pathlib import Path
from hubwatch.models.embedded import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]))
info = server.start(detached=False)
import psycopg
with psycopg.connect(host="127.0.0.1", port=info.port, user="hubwatch", dbname="hubwatch") as c:
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
