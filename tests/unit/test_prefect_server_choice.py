"""Which Prefect API a flow command uses (hubwatch.flows.server.connect_client): the one
``PREFECT_API_URL`` names (environment or active Prefect profile) when set, else the
managed server, unless ``HUBWATCH_PREFECT_SERVER=temporary``. Each case runs in a fresh
interpreter: the choice is made before Prefect is imported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = ("from hubwatch.flows.server import api_url_configured, connect_client; "
         "print(api_url_configured(), connect_client())")


def probe(tmp_path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HUBWATCH_"))}
    base |= {"HUBWATCH_DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", PROBE], env=base | env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "data" / "prefect" / "server.json").exists()  # nothing started
    return proc.stdout.strip()


def test_environment_url_wins(tmp_path):
    assert probe(tmp_path, PREFECT_API_URL="http://127.0.0.1:9/api") == "True None"


@pytest.mark.parametrize("active", ["here", None])
def test_profile_url_wins(tmp_path, active):
    (tmp_path / "home").mkdir()
    head = f'active = "{active}"\n' if active else ""
    (tmp_path / "home" / "profiles.toml").write_text(
        head + f'[profiles.{active or "ephemeral"}]\nPREFECT_API_URL = "http://127.0.0.1:9/api"\n')
    assert probe(tmp_path) == "True None"
    # another profile is active: no URL from this one (temporary: nothing would start)
    assert probe(tmp_path, PREFECT_PROFILE="other", HUBWATCH_PREFECT_SERVER="temporary") == "False None"


def test_temporary_keeps_the_old_way(tmp_path):
    assert probe(tmp_path, HUBWATCH_PREFECT_SERVER="temporary") == "False None"
