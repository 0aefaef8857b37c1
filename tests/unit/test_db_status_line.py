"""``hubwatch db status`` prints each fact on one line however narrow the terminal or pipe
(scripts grep it whole), and starts no server."""

from __future__ import annotations

import os
import subprocess
import sys


def test_db_status_is_one_line_in_a_narrow_pipe(tmp_path):
    data = tmp_path / "a-rather-long-folder-name-for-the-data-of-hubwatch"
    env = {**os.environ, "HUBWATCH_DATA_DIR": str(data), "COLUMNS": "30"}
    env.pop("DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-m", "hubwatch", "db", "status"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"embedded PostgreSQL in {data}: not running"]
    assert not (data / "pg").exists()  # asking started nothing
