"""Commands that need no flow never import Prefect (it costs seconds at start-up and pulls
a server's worth of modules into a one-page ``extract``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# Runs the CLI in this interpreter, then reports whether any prefect module was loaded.
PROBE = """
import json, sys
from hubwatch.cli.main import app
try:
    app(sys.argv[1:], prog_name="hubwatch", standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
print("PROBE " + json.dumps({"code": code, "prefect": loaded[:5]}))
"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = ("<html><head><title>京津冀协同发展</title></head><body><article><p>"
                + "长三角一体化与粤港澳大湾区建设。" * 20 + "</p></article></body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def page_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/article.html"
    server.shutdown()


def _probe(args: list[str], env: dict, cwd) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
    assert lines, (args, proc.stdout[-1500:], proc.stderr[-1500:])
    return json.loads(lines[-1][6:])


def test_commands_without_flows_leave_prefect_out(db_env, page_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": db_env, "HUBWATCH_HOST_DELAY_SECONDS": "0"}
    commands = {
        "extract URL": ["extract", page_url, "--format", "jsonl"],
        "status": ["status"],
        "export": ["export", "current_documents", "--format", "csv", "--out", str(tmp_path / "e.csv")],
        "report": ["report", "--weeks", "2", "--out", str(tmp_path / "report")],
        "check-config": ["check-config"],
        "sql": ["sql", "-c", "SELECT 1"],
        "db status": ["db", "status"],
    }
    for name, args in commands.items():
        result = _probe(args, env, tmp_path)
        assert result["code"] in (0, None), (name, result)
        assert result["prefect"] == [], f"`hubwatch {name}` imported {result['prefect']}"
