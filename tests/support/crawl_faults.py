"""One crawl of the fault site with the pipeline's domain code (no Prefect), in its own process.

Run as ``python -m support.crawl_faults SOURCES_YAML`` with ``DATABASE_URL``
set; ``test_crawl_faults.py`` runs it under ``/usr/bin/time -v`` to measure its peak
RSS from outside. Prints the run's counts as one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import load_sources
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.models.db import session_factory
from hubwatch.pipeline.ingest import Pipeline

SETTINGS = FetchSettings(connect_timeout=2, read_timeout=2, total_deadline=3, retries=1, backoff_base=0.05,
                         backoff_cap=0.2, max_retry_wait=5, breaker_threshold=100, host_delay=0)


def main(argv: list[str]) -> int:
    sources = load_sources(Path(argv[0]))
    settings = get_settings()
    pipeline = Pipeline.open(session_factory(), sources, load_watchlist(settings.watchlist_file))
    with Fetcher(SETTINGS) as fetcher:
        for source in sources:
            pipeline.crawl_source(source, fetcher)
    print(json.dumps(pipeline.counts.as_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
