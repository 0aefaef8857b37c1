"""``hubwatch extract --format jsonl`` prints one line per target, always (issue 16): an
attribute bomb ends as ``parse_limit`` within 10 s, a Python-only charset label decodes, an
unreadable file is named; and the command imports no Prefect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from support.faultserver import article_html

REPO = Path(__file__).resolve().parents[2]


def test_every_target_prints_its_line(tmp_path):
    bomb = tmp_path / "bomb.html"
    bomb.write_bytes(("<p " + " ".join(f"a{i}=x" for i in range(100_000)) + ">x</p>").encode())
    codec = tmp_path / "codec.html"
    codec.write_bytes(article_html(1).replace(b'charset="utf-8"', b'charset="base64"'))
    missing = tmp_path / "missing.html"
    env = dict(os.environ, HUBWATCH_DATA_DIR=str(tmp_path), HUBWATCH_PARSE_DEADLINE_SECONDS="5")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "hubwatch", "extract", str(bomb),
                           str(codec), str(missing), "--format", "jsonl"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    # a path that does not exist is a usage error, said after the other targets' lines
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"error: no such file: {missing}" in proc.stderr.splitlines()
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [Path(r["file"]).name for r in records] == ["bomb.html", "codec.html"]
    assert [r["outcome"] for r in records] == ["parse_limit", "ok"]
    assert "粤港澳大湾区" in records[1]["text"] and records[1]["mentions"]
    assert elapsed < 30
    assert "Traceback" not in proc.stderr and " prefect" not in proc.stderr  # -X importtime lists imports
