"""What Prefect costs: the ``nightly`` flow vs the same domain functions without Prefect.

Both crawl the same generated 1,000-page local site (``tests/support/sitegen.py``, one source,
sitemap discovery, no politeness delay) into an emptied database, alternately, ``--repeat``
times each; medians are compared. The anchor ("plain") is exactly what the flow does,
minus Prefect: ``crawl_run`` (config, crawl_run row, counts, analytics refresh), a
``Fetcher`` with the cross-process host gate, ``Pipeline.crawl_source`` per source.
Prefect's one-time start-up (import, temporary API server, first flow run) is measured
on its own and not counted. Target: flow / plain <= 1.15.

Usage::

    .venv/bin/python benchmarks/orchestration.py [--pages 1000] [--repeat 2]

Uses ``DATABASE_URL`` when set (a scratch database: its hubwatch tables are emptied!),
else a private embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers (support.sitegen)
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="hubwatch-bench-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from sqlalchemy import create_engine, text  # noqa: E402  (paths and Prefect env set above)

TABLES = "mention, snapshot, document_version, document_url, document, crawl_run, alias, entity, source"


def database(tmp: Path) -> tuple[str, object | None]:
    """A migrated database URL and the embedded server to stop (or None)."""
    from hubwatch.models.db import normalise_url, upgrade

    if os.environ.get("DATABASE_URL"):
        url, server = normalise_url(os.environ["DATABASE_URL"]), None
    else:
        from hubwatch.models.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(tmp / "pg")
        url = server.start(detached=False).url()
    upgrade(url)
    return url, server


def plain_nightly() -> dict:
    """The nightly's work with no Prefect: the same calls ``hubwatch.flows.orchestration._crawl`` makes."""
    from hubwatch.config.sources import select_sources
    from hubwatch.crawl.fetch import Fetcher
    from hubwatch.crawl.politeness import host_gate_for
    from hubwatch.flows.orchestration import crawl_run, fetch_settings

    with crawl_run("nightly", {"max_pages": None}) as pipeline, Fetcher(
            fetch_settings(), host_gate=host_gate_for(pipeline.sources.values(),
                                                      pipeline.settings.host_delay_seconds)) as fetcher:
        for source in select_sources(list(pipeline.sources.values()), None):
            pipeline.crawl_source(source, fetcher)
        return pipeline.counts.as_dict()


def prefect_nightly() -> dict:
    from hubwatch.flows.orchestration import nightly

    return nightly()


def startup_seconds() -> float:
    """Import Prefect and run a trivial flow (starts the temporary API server)."""
    t0 = time.perf_counter()
    from prefect import flow

    @flow(name="warm-up")
    def warm_up() -> int:
        return 1

    warm_up()
    return time.perf_counter() - t0


def timed(fn, url: str) -> tuple[float, dict]:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    engine.dispose()
    t0 = time.perf_counter()
    counts = fn()
    return time.perf_counter() - t0, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from support.sitegen import SiteServer, write_sources

    from hubwatch.config.settings import get_settings

    tmp = Path(tempfile.mkdtemp(prefix="hubwatch-bench-"))
    url, server = database(tmp)
    try:
        with SiteServer(pages=args.pages) as site:
            os.environ.update(DATABASE_URL=url, HUBWATCH_HOST_DELAY_SECONDS="0",
                              HUBWATCH_SOURCES_FILE=str(write_sources(tmp / "sources.yaml", site)))
            get_settings.cache_clear()
            startup = startup_seconds()
            times: dict[str, list[float]] = {"plain": [], "prefect": []}
            order = [("plain", plain_nightly), ("prefect", prefect_nightly)]
            for i in range(args.repeat):
                for name, fn in order if i % 2 == 0 else order[::-1]:  # no order advantage
                    seconds, counts = timed(fn, url)
                    assert counts["new_versions"] == args.pages, counts
                    times[name].append(seconds)
                    print(f"  {name:8s} {seconds:7.2f} s  ({counts['new_versions']} new versions)",
                          flush=True)
        report(args.pages, times, startup)
    finally:
        if server is not None:
            server.stop_child()


def report(pages: int, times: dict[str, list[float]], startup: float) -> None:
    plain, flow = statistics.median(times["plain"]), statistics.median(times["prefect"])
    print(f"\nnightly over a {pages}-page local site, no politeness delay (medians of "
          f"{len(times['plain'])} runs each)")
    print(f"{'domain functions, no Prefect (anchor)':42s} {plain:8.2f} s  {pages / plain:7.1f} pages/s")
    print(f"{'nightly flow under Prefect':42s} {flow:8.2f} s  {pages / flow:7.1f} pages/s")
    print(f"{'ratio flow / anchor (target <= 1.15)':42s} {flow / plain:8.3f}")
    print(f"{'Prefect one-time start-up (not counted)':42s} {startup:8.2f} s")


if __name__ == "__main__":
    main()
