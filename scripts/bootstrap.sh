#!/usr/bin/env bash
# Make .venv from requirements.lock and install hubwatch into it (editable, strict mode).
# Idempotent and quick when nothing changed: dependencies are re-installed only when the
# lock file changed, hubwatch itself only when pyproject.toml or its set of files changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
deps=$(sha256sum requirements.lock | cut -d' ' -f1)
# Strict editable installs link each file of the package: a new or removed module needs a
# new link tree, so the stamp covers the file list (not the contents).
pkg=$( (cat pyproject.toml; find src flows models config migrations -type f \
        \( -name '*.py' -o -name '*.yaml' -o -name '*.mako' \) | LC_ALL=C sort) | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.hubwatch-deps 2>/dev/null)" != "$deps" ]; then
  echo "bootstrap: installing hubwatch's locked dependencies into .venv ..." >&2
  "$PY" -m venv .venv
  "${PIP[@]}" --upgrade pip
  "${PIP[@]}" -r requirements.lock
  echo "$deps" > .venv/.hubwatch-deps
  rm -f .venv/.hubwatch-pkg
fi
if [ "$(cat .venv/.hubwatch-pkg 2>/dev/null)" != "$pkg" ]; then
  # editable_mode=strict: a link tree of the mapped subpackages (hubwatch.flows is
  # flows/, ...) that plain imports and import-linter both see.
  # setuptools explains strict mode at length on every install: kept in a log, shown on failure.
  "${PIP[@]}" --no-deps -e . --config-settings editable_mode=strict >.venv/install.log 2>&1 \
    || { cat .venv/install.log >&2; exit 1; }
  echo "$pkg" > .venv/.hubwatch-pkg
fi
