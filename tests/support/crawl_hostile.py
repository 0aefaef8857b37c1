"""One recorded crawl (a ``crawl_run`` row, opened as the flows open it) of the sources in
``HUBWATCH_SOURCES_FILE``, in its own process, without Prefect.

Run as ``python -m support.crawl_hostile [--dry-run]`` with ``DATABASE_URL`` set; the
tests run it under ``/usr/bin/time -v`` (peak RSS from outside) and may SIGTERM it
(:func:`hubwatch.pipeline.cancel.stop_on_signals`, as the flows do). Prints the run's
counts and ``run_id`` as one JSON line when the run was not cancelled.
"""

from __future__ import annotations

import json
import sys

from hubwatch.config.settings import FetchSettings
from hubwatch.crawl.fetch import Fetcher
from hubwatch.pipeline.cancel import stop_on_signals
from hubwatch.pipeline.runs import crawl_run

SETTINGS = FetchSettings(connect_timeout=2, read_timeout=5, total_deadline=8, retries=1, backoff_base=0.05,
                         backoff_cap=0.2, max_retry_wait=5, breaker_threshold=100, host_delay=0)


def main(argv: list[str]) -> int:
    dry_run = "--dry-run" in argv
    with crawl_run("ingest", {"dry_run": dry_run}) as handle, stop_on_signals(handle.cancellation):
        pipeline = handle.pipeline()
        with Fetcher(SETTINGS) as fetcher, handle.cancellation.on_cancel(fetcher.cancel):
            for source in handle.sources:
                pipeline.crawl_source(source, fetcher, dry_run=dry_run)
        handle.merge(pipeline.counts.state())
        counts = handle.counts.as_dict() | {"run_id": handle.run_id}
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
