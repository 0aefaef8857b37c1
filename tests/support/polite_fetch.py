"""One crawling process for the politeness tests: fetch the URLs given on the command line
through a Fetcher and the shared per-host gate on ``DATABASE_URL``, as a flow run does.

Usage: python -m support.polite_fetch HOST_DELAY URL...
"""

from __future__ import annotations

import os
import sys

from sqlalchemy import create_engine

from hubwatch.crawl.fetch import Fetcher, FetchSettings, host_key
from hubwatch.crawl.politeness import HostGate


def main(argv: list[str]) -> int:
    delay, urls = float(argv[0]), argv[1:]
    engine = create_engine(os.environ["DATABASE_URL"])
    host = host_key(urls[0])
    gate = HostGate(engine, {host: delay}, default=delay)
    with Fetcher(FetchSettings(host_delay=delay, retries=0), host_gate=gate) as fetcher:
        outcomes = [str(fetcher.fetch(u, allowed_hosts={host}).outcome) for u in urls]
    engine.dispose()
    print(" ".join(outcomes))
    return 0 if set(outcomes) == {"ok"} else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
