"""Fetch every page and fault of a running fault server from a thread pool, as a flow would.

Run as ``python -m support.fetch_all_faults HOST [WORKERS]`` (HOST is
``127.0.0.1:PORT``); prints one JSON line per URL: path, outcome, error, bytes.
The default 20 MB body cap is kept, so the memory the run needs is the real one;
``test_memory.py`` measures this process's peak RSS from outside.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from hubwatch.crawl.fetch import Fetcher, FetchSettings
from support.faultserver import ARTICLES, CRAWL_FAULTS

SETTINGS = FetchSettings(connect_timeout=2, read_timeout=2, total_deadline=3, retries=1, backoff_base=0.05,
                         backoff_cap=0.2, max_retry_wait=5, breaker_threshold=100, host_delay=0)


def main(argv: list[str]) -> int:
    host, workers = argv[0], int(argv[1]) if len(argv) > 1 else 4
    paths = ARTICLES + [f.path for f in CRAWL_FAULTS]
    with Fetcher(SETTINGS) as fetcher, ThreadPoolExecutor(workers) as pool:
        def one(path: str) -> dict:
            expect = "feed" if path.endswith(".xml") else "page"
            r = fetcher.fetch(f"http://{host}{path}", allowed_hosts={host}, expect=expect)
            return {"path": path, "outcome": str(r.outcome), "error": r.error, "bytes": len(r.body)}

        for line in pool.map(one, paths):
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
