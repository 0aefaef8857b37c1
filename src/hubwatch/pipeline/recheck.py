"""When a known document is fetched again (the recheck schedule, docs/design.md).

Pages change most while new and rarely after (Open Terms Archive and diffengine check
tracked pages on a fixed cadence; here the cadence slows with age): a document is checked
every ``new_interval`` while it is younger than ``new_age`` since it was first seen or last
changed, every ``recent_interval`` until ``recent_age``, then every ``old_interval``. A
change makes it young again, so an edited page is watched closely for a while.

Plain Python, no database: the pipeline reads a document's times, asks
:meth:`RecheckPolicy.next_check`, and stores the answer in ``document.next_check_at``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class RecheckPolicy:
    """The schedule's parameters (from ``HUBWATCH_RECHECK_*`` settings).

    Ages and intervals are ``timedelta``; ``spread`` is a fraction of the interval (0 to
    <1) by which each document's check is brought forward, fixed per document, so that a
    thousand pages first crawled the same night are not all due the same later night;
    ``budget_per_host``: page requests per host per nightly run (new pages first,
    rechecks take what is left); ``lookahead``: a run checks what falls due before
    ``now + lookahead`` too, so that a daily document fetched a little later in one
    night's run than in the last is not put off to the night after.
    """

    new_age: dt.timedelta = dt.timedelta(days=7)
    new_interval: dt.timedelta = dt.timedelta(hours=24)
    recent_age: dt.timedelta = dt.timedelta(days=30)
    recent_interval: dt.timedelta = dt.timedelta(days=7)
    old_interval: dt.timedelta = dt.timedelta(days=30)
    spread: float = 0.1
    budget_per_host: int = 50
    lookahead: dt.timedelta = dt.timedelta(hours=6)

    @classmethod
    def from_settings(cls, settings) -> RecheckPolicy:
        """The policy of a ``hubwatch.config.settings.Settings`` (its ``crawl`` section)."""
        s = settings.crawl
        return cls(new_age=dt.timedelta(days=s.recheck_new_days),
                   new_interval=dt.timedelta(hours=s.recheck_new_hours),
                   recent_age=dt.timedelta(days=s.recheck_recent_days),
                   recent_interval=dt.timedelta(days=s.recheck_recent_interval_days),
                   old_interval=dt.timedelta(days=s.recheck_old_interval_days),
                   spread=s.recheck_spread, budget_per_host=s.recheck_budget_per_host,
                   lookahead=dt.timedelta(hours=s.recheck_lookahead_hours))

    def due_before(self, now: dt.datetime) -> dt.datetime:
        """A run at ``now`` rechecks documents whose next check is before this."""
        return now + self.lookahead

    def interval(self, age: dt.timedelta) -> dt.timedelta:
        """The recheck interval of a document ``age`` after it was first seen or changed."""
        if age < self.new_age:
            return self.new_interval
        if age < self.recent_age:
            return self.recent_interval
        return self.old_interval

    def next_check(self, *, checked_at: dt.datetime, first_seen_at: dt.datetime,
                   last_changed_at: dt.datetime | None, key: str) -> dt.datetime:
        """When to fetch the document next (aware, UTC).

        ``checked_at``: its latest fetch; ``first_seen_at``; ``last_changed_at``: when its
        current content was first captured (None: never stored); ``key``: a stable
        identity (the canonical URL) that fixes its share of the spread. Never later than
        ``checked_at + interval``, so a daily document is due at the next nightly run.
        """
        since = max(first_seen_at, last_changed_at or first_seen_at)
        interval = self.interval(max(checked_at - since, dt.timedelta(0)))
        share = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") / 2 ** 32
        return (checked_at + interval * (1 - self.spread * share)).astimezone(dt.UTC)
