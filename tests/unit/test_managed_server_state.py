"""The managed Prefect server's state file (hubwatch.flows.server): a record counts only
while its process lives *and* started when recorded (a reused pid never passes for the
server); the file is the owner's alone. No server is started here."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import psutil
import pytest

from hubwatch.flows.server import ManagedServer, ServerState, _write_private


@pytest.fixture(autouse=True)
def no_ui_address(tmp_path, monkeypatch):
    """No UI address from the environment or the developer's own Prefect profile: the
    tests below set the one they need."""
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))


def record(server: ManagedServer, pid: int, create_time: float) -> None:
    server.folder.mkdir(parents=True, exist_ok=True)
    _write_private(server.state_file, json.dumps(dict(
        pid=pid, port=9, create_time=create_time, started_at=0.0, auth_string="hubwatch:x")))


def test_a_record_counts_only_for_its_own_process(tmp_path):
    server = ManagedServer(tmp_path)
    assert server.recorded() is None  # no file
    me = psutil.Process()
    record(server, me.pid, me.create_time())
    assert server.recorded() == ServerState(me.pid, 9, me.create_time(), 0.0, "hubwatch:x")
    record(server, me.pid, me.create_time() - 3600)  # same pid, another process's start
    assert server.recorded() is None
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    record(server, child.pid, 0.0)  # a process that has ended
    assert server.recorded() is None


def test_state_file_is_private_and_holds_no_secret_in_repr(tmp_path):
    server = ManagedServer(tmp_path)
    me = psutil.Process()
    record(server, me.pid, me.create_time())
    assert stat.S_IMODE(os.stat(server.state_file).st_mode) == 0o600
    state = server.recorded()
    assert "hubwatch:x" not in repr(state)
    assert state.client_env() == {"PREFECT_API_URL": "http://127.0.0.1:9/api",
                                  "PREFECT_API_AUTH_STRING": "hubwatch:x", "PREFECT_UI_URL": ""}
    assert server.running() is None  # nothing answers on port 9


def test_stop_without_a_server_removes_a_stale_record(tmp_path):
    server = ManagedServer(tmp_path)
    record(server, 2 ** 22 + 1, 0.0)  # above the default pid_max: no such process
    assert server.stop() is False
    assert not server.state_file.exists()


def test_a_client_links_to_a_dashboard_only_where_the_server_serves_one(monkeypatch):
    """An empty PREFECT_UI_URL stops Prefect's "View at <url>" line for each flow run when
    the server has no dashboard (a link that leads nowhere); a server with one, or a UI
    address the user set, keeps the link."""
    bare = ServerState(1, 9, 0.0, 0.0, "hubwatch:x")
    assert bare.client_env()["PREFECT_UI_URL"] == ""
    with_ui = ServerState(1, 9, 0.0, 0.0, "hubwatch:x", dashboard=True)
    assert "PREFECT_UI_URL" not in with_ui.client_env()
    monkeypatch.setenv("PREFECT_UI_URL", "https://prefect.example.org")
    assert "PREFECT_UI_URL" not in bare.client_env()
    # Prefect itself makes no flow-run link from that environment (its url_for).
    probe = ("import uuid; from prefect.utilities.urls import url_for; "
             "print(url_for('flow-run', obj_id=uuid.uuid4()))")
    monkeypatch.delenv("PREFECT_UI_URL")
    env = {**os.environ, **bare.client_env()}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"
    env = {**os.environ, **with_ui.client_env()}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith("http://127.0.0.1:9/runs/flow-run/")


def test_the_dashboard_flag_reads_prefects_own_precedence():
    """PREFECT_SERVER_UI_ENABLED wins over PREFECT_UI_ENABLED (Prefect 3.9), booleans as
    pydantic reads them."""
    from hubwatch.flows.server import _dashboard

    assert _dashboard({"PREFECT_UI_ENABLED": "false"}) is False
    assert _dashboard({"PREFECT_UI_ENABLED": "True"}) is True
    assert _dashboard({"PREFECT_UI_ENABLED": "false", "PREFECT_SERVER_UI_ENABLED": "1"}) is True
    assert _dashboard({"PREFECT_UI_ENABLED": "yes", "PREFECT_SERVER_UI_ENABLED": "off"}) is False


def test_a_ui_address_in_the_prefect_profile_is_kept(tmp_path, monkeypatch):
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('active = "mine"\n[profiles.mine]\nPREFECT_UI_URL = "https://ui.example.org"\n')
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(profiles))
    assert "PREFECT_UI_URL" not in ServerState(1, 9, 0.0, 0.0, "hubwatch:x").client_env()
