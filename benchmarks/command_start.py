"""What a flow command costs before it does any work: ``hubwatch ingest -u URL``, first and later.

A local HTTP server (``http.server`` in a thread) serves one page and logs the time of
every request. With a fresh ``HUBWATCH_DATA_DIR`` (and ``PREFECT_HOME``), ``hubwatch ingest
-u URL`` runs ``--runs`` times in a row, each a new process, ``PREFECT_API_URL`` unset:

* **first**: it creates the embedded PostgreSQL cluster, migrates it and starts the
  managed Prefect server (hubwatch.flows.server);
* **later**: the Prefect server runs, and so does the embedded PostgreSQL (the Prefect
  server holds a lease on it). The migration check and the analytics refresh at the end
  of the run are part of every command. ``--keep-db`` runs ``hubwatch db start`` first
  (the same for later commands; the first then finds PostgreSQL running).

Per run it prints the wall time, the **fixed cost** (process start to the local server's
first request: robots.txt), the time after the last request to the exit, and the CPU
time of the command (its own and its waited-for children: not the servers it started),
side by side with the target: a later command's fixed cost and its wall time minus the
fetch at most 8 s. ``--temporary`` adds one run with ``HUBWATCH_PREFECT_SERVER=temporary``
(Prefect's temporary server per command: the behaviour before the managed server), as
the anchor. The managed server is stopped at the end.

Usage::

    .venv/bin/python benchmarks/command_start.py [--runs 3] [--temporary] [--keep-db]

The machine's load average is printed before and after: on a busy machine every figure
grows; compare CPU seconds across machines.
"""

from __future__ import annotations

import argparse
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TARGET_S = 8.0
PAGE = ("<html><head><title>Benchmark page</title></head><body><article><h1>Greater Bay Area"
        "</h1><p>" + "The Guangdong-Hong Kong-Macao Greater Bay Area innovation hub, in the "
        "15th Five-Year Plan. " * 20 + "</p></article></body></html>").encode()


class _Site(http.server.BaseHTTPRequestHandler):
    requests: list[tuple[float, str]] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Site.requests.append((time.time(), self.path))
        if self.path == "/page.html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
        else:
            self.send_error(404)

    def log_message(self, *args):  # quiet
        pass


def _hubwatch_env(tmp: Path, mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "HUBWATCH_")) and k != "DATABASE_URL"}
    return env | {"HUBWATCH_DATA_DIR": str(tmp / "data"), "PREFECT_HOME": str(tmp / "prefect-home"),
                  "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "HUBWATCH_HOST_DELAY_SECONDS": "0",
                  "HUBWATCH_PREFECT_SERVER": mode}


def run_once(url: str, env: dict[str, str], log: Path) -> dict:
    """One ``hubwatch ingest -u URL``: wall, fixed cost, tail after the last request, CPU."""
    first = len(_Site.requests)
    with open(log, "ab") as out:
        start = time.time()
        proc = subprocess.Popen([sys.executable, "-m", "hubwatch", "ingest", "-u", url], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        end = time.time()
    seen = _Site.requests[first:]
    if status != 0 or not seen:
        sys.exit(f"hubwatch ingest failed (status {status}); see {log}")
    return {"wall": end - start, "fixed": seen[0][0] - start, "fetch": seen[-1][0] - seen[0][0],
            "tail": end - seen[-1][0], "cpu": usage.ru_utime + usage.ru_stime}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="commands in a row (the first, then later ones)")
    parser.add_argument("--temporary", action="store_true",
                        help="also one run with HUBWATCH_PREFECT_SERVER=temporary (the anchor)")
    parser.add_argument("--keep-db", action="store_true",
                        help="`hubwatch db start` first: later commands find PostgreSQL running")
    args = parser.parse_args()
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{site.server_address[1]}/page.html"
    tmp = Path(tempfile.mkdtemp(prefix="hubwatch-bench-start-"))
    log = tmp / "commands.log"
    env = _hubwatch_env(tmp, "managed")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} CPUs; data folder {tmp}")
    print(f"{'command':<22}{'wall s':>8}{'fixed s':>9}{'fetch s':>9}{'after s':>9}"
          f"{'wall-fetch':>11}{'cpu s':>7}  target")
    rows = []
    if args.keep_db:
        subprocess.run([sys.executable, "-m", "hubwatch", "db", "start"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for i in range(args.runs):
            rows.append(("first (managed)" if i == 0 else f"later #{i} (managed)", run_once(url, env, log)))
            _print(*rows[-1], target=i > 0)
        if args.temporary:
            rows.append(("temporary server", run_once(url, _hubwatch_env(tmp, "temporary"), log)))
            _print(*rows[-1], target=False)
    finally:
        subprocess.run([sys.executable, "-m", "hubwatch", "db", "stop"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        site.shutdown()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("fixed: process start to the first request (robots.txt); after: last request to exit "
          "(analytics refresh, Prefect's end of run, exit); cpu: the command's own and its "
          f"waited-for children's; target: later command's fixed and wall-fetch <= {TARGET_S:g} s")
    shutil.rmtree(tmp, ignore_errors=True)


def _print(name: str, r: dict, *, target: bool) -> None:
    net = r["wall"] - r["fetch"]
    verdict = (f"{TARGET_S:g} s: " + ("met" if max(net, r["fixed"]) <= TARGET_S else "MISSED")) if target else "-"
    print(f"{name:<22}{r['wall']:>8.2f}{r['fixed']:>9.2f}{r['fetch']:>9.2f}{r['tail']:>9.2f}"
          f"{net:>11.2f}{r['cpu']:>7.2f}  {verdict}", flush=True)


if __name__ == "__main__":
    main()
