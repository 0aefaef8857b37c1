#!/usr/bin/env bash
# Make .venv from requirements.lock and install hubwatch into it (editable).
# Idempotent and quick when nothing changed: it re-installs only when the lock file or
# pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.hubwatch-lock 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing hubwatch and its locked dependencies into .venv ..." >&2
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  echo "$want" > .venv/.hubwatch-lock
fi
