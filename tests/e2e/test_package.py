"""The installed package: one import name, layers that import-linter keeps, and commands
that need no flow never importing Prefect.

The wheel is built from the checkout and installed (not editable) into a fresh virtual
environment whose dependencies come from the test environment's site-packages through a
``.pth`` line (no network, no second download of the lock file).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A new venv with hubwatch installed from its wheel (``pip install <wheel>``)."""
    tmp = tmp_path_factory.mktemp("pkg")
    src = tmp / "src"  # a copy: building must not leave build/ or egg-info in the checkout
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".import_linter_cache"))
    wheels = tmp / "wheels"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                  "-w", str(wheels), str(src)])
    assert built.returncode == 0, built.stderr[-2000:]
    venv = tmp / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)]).returncode == 0
    purelib = Path(_run([str(venv / "bin/python"), "-c",
                         "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # Dependencies from this environment: a plain path line (its .pth files, such as the
    # checkout's editable install, are not processed from there).
    (purelib / "deps-from-tests.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = wheels.glob("hubwatch-*.whl")
    installed = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install",
                      "--no-deps", "--no-index", "--quiet", str(wheel)])
    assert installed.returncode == 0, installed.stderr[-2000:]
    return venv


def test_the_distribution_installs_one_top_level_name(fresh_venv):
    import zipfile

    (wheel,) = (fresh_venv.parent / "wheels").glob("hubwatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"hubwatch"}
    (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["hubwatch"]
    purelib = Path(_run([str(fresh_venv / "bin/python"), "-c",
                         "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    top = [p.name for p in purelib.iterdir()
           if not p.name.endswith((".dist-info", ".pth")) and p.name != "__pycache__"]
    assert top == ["hubwatch"]


def test_no_other_top_level_module_is_importable(fresh_venv, tmp_path):
    for name in ("config", "models", "flows", "migrations"):
        proc = _run([str(fresh_venv / "bin/python"), "-c", f"import {name}"], cwd=tmp_path)
        assert proc.returncode == 1 and "ModuleNotFoundError" in proc.stderr, (name, proc.stderr)
    ok = _run([str(fresh_venv / "bin/python"), "-c",
               "import hubwatch.flows, hubwatch.models.schema, hubwatch.config.settings, "
               "hubwatch.migrations, sys; print(hubwatch.__file__)"], cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "site-packages" in ok.stdout and str(REPO) not in ok.stdout


def test_check_config_from_a_folder_with_lookalike_modules(fresh_venv, tmp_path):
    # `python -m` puts the working folder first on sys.path: these must not shadow ours.
    for name in ("config", "models", "flows", "migrations"):
        (tmp_path / f"{name}.py").write_text("raise SystemExit('the wrong module was imported')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBWATCH_")}
    for cmd in ([str(fresh_venv / "bin/python"), "-m", "hubwatch", "check-config"],
                [str(fresh_venv / "bin/hubwatch"), "check-config"]):
        proc = _run(cmd, cwd=tmp_path, env=env)
        assert proc.returncode == 0, (cmd, proc.stdout, proc.stderr)
        assert "sources.yaml" in proc.stdout and "watchlist.yaml" in proc.stdout


def _lint(pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return _run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=REPO, env=env)


def test_lint_imports_keeps_the_layers():
    proc = _lint()
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "BROKEN" not in proc.stdout and "KEPT" in proc.stdout


def test_a_contract_catches_a_forbidden_import(tmp_path):
    # The installed package copied as a plain tree, then one domain module made to import
    # Prefect and the CLI: import-linter must name both.
    import hubwatch

    tree = tmp_path / "hubwatch"
    shutil.copytree(Path(hubwatch.__file__).parent, tree, symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__"))
    dates = tree / "text" / "dates.py"
    dates.write_text(dates.read_text() + "\nimport prefect  # noqa\nimport hubwatch.cli.main  # noqa\n")
    proc = _lint(tmp_path)
    assert proc.returncode != 0
    assert "hubwatch.text.dates -> prefect" in proc.stdout
    assert "hubwatch.text.dates -> hubwatch.cli.main" in proc.stdout
    assert "The domain library runs without Prefect, flows or the CLI BROKEN" in proc.stdout
