"""Per-host politeness across processes: a shared rate limit kept in PostgreSQL.

The ``Fetcher`` already spaces requests to a host within one process. When several flow
runs crawl at once (``hubwatch serve`` running two deployments, workers on several
machines), each would keep its own spacing and a site would see the sum. ``HostGate``
closes that gap: before each request the fetcher enters ``gate(host)``, which returns
only once this process has *claimed* the host in table ``host_politeness`` (migration
0004), i.e. at least ``delay`` seconds after the previous claim by anyone.

The claim is one atomic statement (``INSERT ... ON CONFLICT DO UPDATE ... WHERE
next_at <= clock_timestamp()``): PostgreSQL's row lock serialises competing claims and
the database clock is the only clock used, so hosts on several machines agree without
synchronised clocks. A waiter sleeps until the ``next_at`` it read and tries again.
A host whose delay is 0 never touches the database. Should the database fail, the gate
logs a warning and lets the request go (the fetcher's in-process delay still applies):
a run that cannot reach its database cannot store anything either.

Why PostgreSQL rather than Prefect global concurrency limits: the database is always
there (also for ``hubwatch run`` without a Prefect server, offline and in tests), and a
claim costs about a millisecond where a Prefect slot round trip costs far more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import Engine, Float, bindparam, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

# Granted when the host's slot is due (or the host is new): its ``next_at`` has passed and
# so has ``site_delay`` (the site's own robots.txt delay, as the last process that read it
# stored it; given by the caller when it knows better) since the previous request began.
# The outer SELECT reads the row as it was before this statement: on a refusal that is the
# moment to wait for (possibly an older one under contention; the retry then comes early).
_CLAIM = text("""
WITH claim AS (
    INSERT INTO host_politeness AS h (host, next_at, last_at, site_delay)
    VALUES (:host, clock_timestamp() + make_interval(secs => GREATEST(:gap, COALESCE(:site, 0))),
            clock_timestamp(), :site)
    ON CONFLICT (host) DO UPDATE
        SET next_at = clock_timestamp()
                      + make_interval(secs => GREATEST(:gap, COALESCE(:site, h.site_delay, 0))),
            last_at = clock_timestamp(),
            site_delay = COALESCE(:site, h.site_delay)
        WHERE GREATEST(h.next_at, h.last_at + make_interval(
                  secs => COALESCE(:site, h.site_delay, 0))) <= clock_timestamp()
    RETURNING true AS granted
)
SELECT COALESCE((SELECT granted FROM claim), false) AS granted,
       (SELECT EXTRACT(EPOCH FROM GREATEST(next_at, last_at + make_interval(
                   secs => COALESCE(:site, site_delay, 0))) - clock_timestamp())
        FROM host_politeness WHERE host = :host) AS wait
""").bindparams(bindparam("site", type_=Float), bindparam("gap", type_=Float))


class HostGate:
    """``gate(host)`` is a context manager entered before each request to ``host``.

    Args:
        engine: the hubwatch database (table ``host_politeness`` must exist).
        delays: seconds between two requests per host (``host`` or ``host:port``,
            lower-case, as ``hubwatch.crawl.fetch.host_key`` spells it).
        default: seconds for hosts not in ``delays``.
        max_wait: longest single sleep between two claim attempts, seconds.
        margin: seconds added to every non-zero delay: a request reaches the site a few
            milliseconds after its claim (thread switch, socket write), so without it the
            site could see two requests slightly closer than the delay.

    Entering blocks until the claim succeeds; exiting does nothing (the limit is on
    request starts, like the in-process delay). ``gate(host, site_delay)``: the seconds
    the host's robots.txt asks for (``Crawl-delay``, ``Request-rate``), when the caller
    has read it; it is stored with the host (``host_politeness.site_delay``), so every
    process spaces its requests by the larger of its configured delay and the site's,
    counted from the previous request by anyone, also those that read robots.txt later
    or not at all this run. Thread-safe.
    """

    def __init__(self, engine: Engine, delays: Mapping[str, float], default: float, *,
                 max_wait: float = 5.0, margin: float = 0.05) -> None:
        self.engine = engine
        self.delays = {h.lower(): float(d) for h, d in delays.items()}
        self.default = float(default)
        self.max_wait, self.margin = max_wait, margin
        self._warned = False

    def delay_for(self, host: str) -> float:
        """Seconds between two requests to ``host`` across all processes."""
        return self.delays.get(host.lower(), self.default)

    @contextmanager
    def __call__(self, host: str, site_delay: float | None = None) -> Iterator[None]:
        self.acquire(host, site_delay)
        yield

    def acquire(self, host: str, site_delay: float | None = None) -> float:
        """Block until this process has claimed ``host``; return the seconds waited.

        A host with no configured delay and no site delay known to this process never
        touches the database (its robots.txt, read first, tells whether it asks for one).
        """
        gap = self.delay_for(host)
        if gap <= 0 and not site_delay:
            return 0.0
        started = time.monotonic()
        gap = gap + self.margin if gap > 0 else 0.0
        site = site_delay + self.margin if site_delay else None
        while True:
            try:
                granted, wait = self._claim(host.lower(), gap, site)
            except SQLAlchemyError as exc:
                self._warn(exc)
                return time.monotonic() - started
            if granted:
                return time.monotonic() - started
            # Sleep to the slot read; at least a little (no busy loop), at most max_wait.
            time.sleep(min(max(wait or 0.0, 0.002), self.max_wait, max(gap, site or 0.0)))

    def _claim(self, host: str, gap: float, site: float | None) -> tuple[bool, float | None]:
        with self.engine.begin() as conn:
            row = conn.execute(_CLAIM, {"host": host, "gap": gap, "site": site}).one()
        return bool(row.granted), None if row.wait is None else float(row.wait)

    def _warn(self, exc: Exception) -> None:
        if not self._warned:  # once per run: the cause is the same for every request
            self._warned = True
            log.warning("cross-process politeness unavailable (%s); only this process's "
                        "per-host delay applies", type(exc).__name__)


def source_delays(sources: Iterable) -> dict[str, float]:
    """Per-host delay from the sources' ``allowed_hosts`` and ``delay_seconds`` (the
    largest when a host is listed by several sources), as the pipeline applies them."""
    delays: dict[str, float] = {}
    for source in sources:
        for host in source.allowed_hosts:
            delays[host.lower()] = max(delays.get(host.lower(), 0.0), source.delay_seconds)
    return delays


def host_gate_for(sources: Iterable, default_delay: float, engine: Engine | None = None, *,
                  announce: bool = True) -> HostGate:
    """The gate for one flow run: delays from ``sources`` (``hubwatch.config.sources.SourceConfig``),
    ``default_delay`` seconds for any other host, on ``engine`` (default: the process's
    hubwatch database, ``hubwatch.models.db.get_engine()``). ``announce``: log the gate at
    INFO (a run's first batch), else at DEBUG (its other batches build the same gate)."""
    if engine is None:
        from hubwatch.models.db import get_engine

        engine = get_engine()
    delays = source_delays(sources)
    log.log(logging.INFO if announce else logging.DEBUG,
            "cross-process politeness on for %d hosts (default delay %.2f s)", len(delays),
            default_delay)
    return HostGate(engine, delays, default_delay)
