"""The recheck schedule's arithmetic (hubwatch.pipeline.recheck)."""

from __future__ import annotations

import datetime as dt

from hubwatch.config.settings import CrawlSettings, Settings
from hubwatch.pipeline.recheck import RecheckPolicy

T0 = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _next(policy, *, checked, first, changed=None, key="http://example.com/a"):
    return policy.next_check(checked_at=checked, first_seen_at=first, last_changed_at=changed,
                             key=key) - checked


def test_intervals_slow_down_with_age_and_a_change_resets_them():
    p = RecheckPolicy(spread=0)
    assert _next(p, checked=T0 + 2 * DAY, first=T0) == DAY
    assert _next(p, checked=T0 + 10 * DAY, first=T0) == 7 * DAY
    assert _next(p, checked=T0 + 40 * DAY, first=T0) == 30 * DAY
    assert _next(p, checked=T0 + 40 * DAY, first=T0, changed=T0 + 39 * DAY) == DAY


def test_spread_brings_checks_forward_only_and_differs_by_document():
    p = RecheckPolicy(spread=0.1)
    gaps = {_next(p, checked=T0 + 40 * DAY, first=T0, key=f"http://example.com/{i}")
            for i in range(200)}
    assert all(27 * DAY <= g <= 30 * DAY for g in gaps)
    assert len(gaps) > 150  # spread, not one night for all
    same = _next(p, checked=T0 + 40 * DAY, first=T0, key="http://example.com/7")
    assert same == _next(p, checked=T0 + 41 * DAY, first=T0 + DAY, key="http://example.com/7")


def test_policy_from_settings_uses_every_field():
    s = Settings(crawl=CrawlSettings(
        recheck_new_days=3, recheck_new_hours=12, recheck_recent_days=10,
        recheck_recent_interval_days=2, recheck_old_interval_days=9, recheck_spread=0,
        recheck_budget_per_host=7, recheck_lookahead_hours=1))
    p = RecheckPolicy.from_settings(s)
    assert (p.interval(DAY), p.interval(5 * DAY), p.interval(20 * DAY)) == (
        dt.timedelta(hours=12), 2 * DAY, 9 * DAY)
    assert p.budget_per_host == 7 and p.due_before(T0) == T0 + dt.timedelta(hours=1)
