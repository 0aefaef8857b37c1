"""docker-compose.yml as a compose implementation reads it (``docker compose config`` or
Debian's ``docker-compose config``: neither needs a Docker engine), and the Dockerfile it
builds. In CI (``CI`` set) a missing compose tool fails the test instead of skipping it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"


def compose_command() -> list[str]:
    """``docker compose`` (v2 plugin) if it answers, else ``docker-compose``."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    message = "neither `docker compose` nor `docker-compose` is installed"
    if os.environ.get("CI"):
        pytest.fail(message + " (.ci/run must install Debian's docker-compose)")
    pytest.skip(message)


def run_config(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if "PASSWORD" not in k and "SECRET" not in k} | env_extra
    return subprocess.run([*compose_command(), "-f", str(COMPOSE), "--profile", "serve",
                           "--profile", "workers", "config"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def secrets() -> dict[str, str]:
    return {"POSTGRES_PASSWORD": f"pg{uuid.uuid4().hex}", "PREFECT_DB_PASSWORD": f"pf{uuid.uuid4().hex}",
            "PREFECT_API_SECRET": f"api{uuid.uuid4().hex}", "POSTGRES_ADMIN_PASSWORD": f"adm{uuid.uuid4().hex}"}


@pytest.fixture(scope="module")
def config(secrets) -> dict:
    done = run_config(secrets)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_services_and_their_order(config):
    services = config["services"]
    assert set(services) == {"db", "prefect-db", "prefect-server", "migrate", "serve", "deploy",
                             "worker"}
    assert services["migrate"]["command"] == ["hubwatch", "db", "upgrade"]
    assert services["serve"]["command"] == ["hubwatch", "serve"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    serve_deps = services["serve"]["depends_on"]
    assert serve_deps["migrate"]["condition"] == "service_completed_successfully"
    assert serve_deps["prefect-server"]["condition"] == "service_healthy"
    for name in ("migrate", "serve", "deploy", "worker"):
        assert "build" in services[name], name  # built from the project's Dockerfile
    assert services["worker"]["command"][:3] == ["prefect", "worker", "start"]


def test_postgres_18_with_health_check_and_named_volumes(config):
    for name, volume in (("db", "hubwatch-pgdata"), ("prefect-db", "prefect-pgdata")):
        service = config["services"][name]
        assert service["image"] == "postgres:18"
        assert "pg_isready" in " ".join(service["healthcheck"]["test"])
        assert any(str(v).startswith(f"{volume}:") for v in service["volumes"])
        assert volume in config["volumes"]


def test_prefect_has_its_own_database(config, secrets):
    services = config["services"]
    prefect_url = services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    hubwatch_url = services["serve"]["environment"]["DATABASE_URL"]
    assert "@prefect-db:" in prefect_url and prefect_url.endswith("/prefect")
    assert "@db:" in hubwatch_url and hubwatch_url.endswith("/hubwatch")
    assert secrets["PREFECT_DB_PASSWORD"] in prefect_url  # from the environment...
    assert secrets["POSTGRES_PASSWORD"] in hubwatch_url


def test_no_secret_in_the_file():
    raw = COMPOSE.read_text()
    # ...and never written in the file: every password is a required ${VAR:?message}.
    for line in raw.splitlines():
        if re.search(r"PASSWORD\s*:", line) or re.search(r"://[^:/\s]+:[^@\s]+@", line):
            assert re.search(r"\$\{[A-Z_]+:\?[^}]+\}", line), line
    every = {"PREFECT_DB_PASSWORD": "a", "PREFECT_API_SECRET": "b", "POSTGRES_PASSWORD": "c",
             "POSTGRES_ADMIN_PASSWORD": "d"}
    for missing in every:
        done = run_config({k: v for k, v in every.items() if k != missing})
        assert done.returncode != 0 and missing in done.stderr, missing


def test_hubwatch_logs_in_as_its_own_role_not_the_superuser(config, secrets):
    db = config["services"]["db"]
    # The image's superuser is postgres (no POSTGRES_USER), its password the admin one; the
    # init script makes the hubwatch role with the password the application's URL carries.
    assert "POSTGRES_USER" not in db["environment"]
    assert db["environment"]["POSTGRES_PASSWORD"] == secrets["POSTGRES_ADMIN_PASSWORD"]
    assert db["environment"]["HUBWATCH_DB_PASSWORD"] == secrets["POSTGRES_PASSWORD"]
    init = [v for v in db["volumes"] if (v["target"] if isinstance(v, dict) else str(v).split(":")[1])
            == "/docker-entrypoint-initdb.d"]
    assert len(init) == 1
    source = init[0]["source"] if isinstance(init[0], dict) else str(init[0]).split(":")[0]
    assert Path(source).name == "postgres-init" and (REPO / "deploy" / "postgres-init" / "10-hubwatch-roles.sh").exists()
    for name in ("migrate", "serve", "deploy", "worker"):
        url = config["services"][name]["environment"]["DATABASE_URL"]
        assert url.startswith(f"postgresql://hubwatch:{secrets['POSTGRES_PASSWORD']}@db:5432/hubwatch"), name
    assert "-h 127.0.0.1" in " ".join(db["healthcheck"]["test"])


def test_the_prefect_api_asks_every_client_for_the_secret(config, secrets):
    services = config["services"]
    auth = f"hubwatch:{secrets['PREFECT_API_SECRET']}"
    assert services["prefect-server"]["environment"]["PREFECT_SERVER_API_AUTH_STRING"] == auth
    for name in ("migrate", "serve", "deploy", "worker"):
        assert services[name]["environment"]["PREFECT_API_AUTH_STRING"] == auth, name


def test_dockerfile_builds_what_compose_runs():
    text = (REPO / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (\S+) ", text, flags=re.M)
    assert all((REPO / c).exists() for c in copied if c != "."), copied
    assert re.search(r"^USER (?!root)\S+", text, flags=re.M)  # not root at run time
    assert 'CMD ["hubwatch", "serve"]' in text
    assert "requirements.lock" in text  # the same locked dependencies as CI


def test_only_the_yaml_config_is_mounted_over_the_image(config):
    # A container must run the image's code: mounting code folders would mix the host's
    # modules with the image's. The YAML files are mounted where the image looks for them.
    text = (REPO / "Dockerfile").read_text()
    for name in ("serve", "deploy", "worker", "migrate"):
        for volume in config["services"][name].get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else str(volume).split(":")[0]
            target = volume["target"] if isinstance(volume, dict) else str(volume).split(":")[1]
            assert source.rstrip("/").endswith("config/data"), (name, volume)
            assert target == "/etc/hubwatch", (name, volume)
    assert "HUBWATCH_SOURCES_FILE=/etc/hubwatch/sources.yaml" in text
    assert "HUBWATCH_WATCHLIST_FILE=/etc/hubwatch/watchlist.yaml" in text
    assert "pip install --no-deps ." in text and " -e ." not in text
