"""``EmbeddedPostgres.stop`` when the server's supervisor is already stopping it.

``hubwatch db stop`` stops the managed Prefect server first; if that server held the last
lease, the supervisor starts shutting PostgreSQL down by itself, so by the time ``stop``
looks, ``postmaster.pid`` no longer says "ready". The server the command saw must still be
reported stopped, and only once it has exited. A plain child process stands in for the
postmaster: only its pid matters here.
"""

from __future__ import annotations

import subprocess
import threading
import time

from hubwatch.models.embedded import EmbeddedPostgres, ServerInfo


def _stand_in() -> subprocess.Popen:
    return subprocess.Popen(["sleep", "60"])


def test_a_server_shutting_down_on_its_own_is_waited_for_and_reported_stopped(tmp_path):
    proc = _stand_in()
    seen = ServerInfo(pid=proc.pid, port=1, secrets_dir=str(tmp_path / "secrets"))

    def supervisor_stops_it():
        time.sleep(0.4)
        proc.terminate()
        proc.wait()  # reaped: a zombie would still answer kill(pid, 0)

    thread = threading.Thread(target=supervisor_stops_it)
    thread.start()
    try:
        assert EmbeddedPostgres(tmp_path).stop(timeout=10, seen=seen) is True
        assert proc.poll() is not None  # returned only after the process was gone
    finally:
        thread.join()


def test_a_server_seen_and_gone_already_counts_as_stopped(tmp_path):
    proc = _stand_in()
    proc.terminate()
    proc.wait()
    seen = ServerInfo(pid=proc.pid, port=1, secrets_dir=str(tmp_path / "secrets"))
    assert EmbeddedPostgres(tmp_path).stop(timeout=1, seen=seen) is True


def test_no_server_seen_and_none_running_is_not_stopped(tmp_path):
    assert EmbeddedPostgres(tmp_path).stop(timeout=1) is False


def test_a_server_seen_that_outlives_the_wait_is_not_reported_stopped(tmp_path):
    proc = _stand_in()
    seen = ServerInfo(pid=proc.pid, port=1, secrets_dir=str(tmp_path / "secrets"))
    try:
        assert EmbeddedPostgres(tmp_path).stop(timeout=0.3, seen=seen) is False
        assert proc.poll() is None  # and left alone: not this command's to signal
    finally:
        proc.terminate()
        proc.wait()
