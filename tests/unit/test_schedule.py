"""Schedules: the instants the nightly runs at, across daylight-saving changes (case 27),
and the late-start grace rule.

Next run instants come from Prefect's server-side ``CronSchedule`` (what the scheduler
service uses to create runs), built from prefect.yaml entries by
``hubwatch.flows.deployments.schedules_for`` (what ``hubwatch serve`` registers). The expected
instants are computed independently with ``zoneinfo``: each local day has exactly one run,
at the wall time if it exists (the first one when it occurs twice), else at the wall time
read with the offset before the change, or at the change itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from prefect.server.schemas.schedules import CronSchedule

from hubwatch.config.settings import get_settings
from hubwatch.flows.deployments import late_start_reason, load_deployment_specs, schedules_for

UTC = dt.UTC


def next_runs(cron: str, timezone: str, after: dt.datetime, n: int) -> list[dt.datetime]:
    """The next ``n`` instants (UTC) of a prefect.yaml-style schedule entry after ``after``."""
    [schedule] = schedules_for({"name": "t", "schedules": [{"cron": cron, "timezone": timezone}]})
    server = CronSchedule(cron=schedule.cron, timezone=schedule.timezone, day_or=schedule.day_or)
    dates = asyncio.run(server.get_dates(n=n, start=after))
    # plain datetimes (Prefect hands back pendulum ones)
    return [dt.datetime.fromtimestamp(d.timestamp(), UTC) for d in dates]


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# -- case 27 ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def case27(shared_dir):
    folder = shared_dir / "cases" / "27-prefect-cron-dst"
    schedules = {s["name"]: s for s in json.loads((folder / "schedules.json").read_text())}
    return schedules, json.loads((folder / "expected.json").read_text())["expected"]


def _case_runs(case: dict) -> list[dt.datetime]:
    return next_runs(case["cron"], case["timezone"], _utc(case["start_after"]), case["n"])


def test_case27_next_runs_utc_and_local(case27):
    schedules, expected = case27
    for name, instants in expected["next_runs_utc"].items():
        assert _case_runs(schedules[name]) == [_utc(i) for i in instants], name
    for name, locals_ in expected["next_runs_local"].items():
        zone = ZoneInfo(schedules[name]["timezone"])
        got = [r.astimezone(zone) for r in _case_runs(schedules[name])]
        want = [dt.datetime.fromisoformat(t) for t in locals_]
        assert got == want and [g.utcoffset() for g in got] == [w.utcoffset() for w in want]


def test_case27_inside_skipped_hour_runs_once_that_day(case27):
    schedules, expected = case27
    first, second = _case_runs(schedules["inside-skipped-hour"])
    assert first in {_utc("2025-03-30T01:00:00Z"), _utc("2025-03-30T01:30:00Z")}
    assert second == _utc(expected["inside-skipped-hour"]["next_run_after_that"])


def test_case27_must_not(case27):
    schedules, _ = case27
    london = ZoneInfo("Europe/London")
    runs = [r.astimezone(london) for r in _case_runs(schedules["just-after-midnight-on-dst-day"])]
    assert runs[0].replace(tzinfo=None) == dt.datetime(2025, 3, 31, 0, 10)  # not skipped or shifted
    autumn = next_runs("0 3 * * *", "Europe/London", _utc("2025-10-25T12:00:00Z"), 5)
    assert sum(r.astimezone(london).date() == dt.date(2025, 10, 26) for r in autumn) == 1


# -- the same class of fault, any zone -------------------------------------------------------

def transitions(zone: ZoneInfo, year: int) -> list[dt.datetime]:
    """UTC instants in ``year`` where ``zone``'s offset changes (hour resolution, refined)."""
    found, t = [], dt.datetime(year, 1, 1, tzinfo=UTC)
    while t.year == year:
        nxt = t + dt.timedelta(hours=1)
        if t.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo = t
            while lo.astimezone(zone).utcoffset() == t.astimezone(zone).utcoffset():
                lo += dt.timedelta(minutes=15)
            found.append(lo)
        t = nxt
    return found


def acceptable(day: dt.date, at: dt.time, zone: ZoneInfo) -> set[dt.datetime]:
    """The UTC instants a daily run at local ``at`` on ``day`` may land on."""
    first = dt.datetime.combine(day, at, tzinfo=zone)  # fold=0
    utc = first.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == first.replace(tzinfo=None):
        return {utc}  # the wall time exists (the first of two when clocks go back)
    changes = [c for c in transitions(zone, day.year) if abs(c - utc) < dt.timedelta(hours=3)]
    return {utc, *changes}  # skipped: old offset, or the moment of the change


ZONES = ["Europe/London", "Europe/Berlin", "America/New_York", "America/Santiago",
         "Australia/Sydney", "Australia/Lord_Howe", "Asia/Shanghai", "Pacific/Auckland"]
TIMES = ["0 0 * * *", "10 0 * * *", "30 1 * * *", "0 2 * * *", "30 2 * * *", "15 2 * * *"]


@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize("cron", TIMES)
def test_one_run_per_local_day_across_dst(zone_name, cron):
    zone = ZoneInfo(zone_name)
    minute, hour = (int(x) for x in cron.split()[:2])
    changes = transitions(zone, 2025) or [dt.datetime(2025, 3, 30, tzinfo=UTC)]
    for change in changes:
        start = change - dt.timedelta(days=3)
        runs = next_runs(cron, zone_name, start, 7)
        days = [start.astimezone(zone).date() + dt.timedelta(days=i) for i in range(9)]
        expected = [acceptable(d, dt.time(hour, minute), zone) for d in days]
        expected = [e for e in expected if max(e) >= start][:7]  # get_dates includes start
        assert len(runs) == len(set(runs)) == 7
        for run, allowed in zip(runs, expected):
            assert run in allowed, (zone_name, cron, run, sorted(allowed))


def test_nightly_in_prefect_yaml_runs_at_02_beijing_every_day():
    [nightly] = [s for s in load_deployment_specs() if s["entrypoint"].endswith(":nightly")]
    [entry] = nightly["schedules"]
    assert (entry["cron"], entry["timezone"]) == ("0 2 * * *", "Asia/Shanghai")
    runs = next_runs(entry["cron"], entry["timezone"], _utc("2025-01-01T00:00:00Z"), 730)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert [r.astimezone(shanghai).date() for r in runs] == [
        dt.date(2025, 1, 2) + dt.timedelta(days=i) for i in range(730)]  # 1 Jan 02:00 was before start
    assert {(r.hour, r.minute) for r in runs} == {(18, 0)}


def test_schedules_must_name_a_zone():
    with pytest.raises(ValueError, match="timezone"):
        schedules_for({"name": "x", "schedules": [{"cron": "0 2 * * *"}]})
    with pytest.raises(ValueError, match="cron"):
        schedules_for({"name": "x", "schedules": [{"interval": 86400, "timezone": "UTC"}]})


# -- late start --------------------------------------------------------------------------------

def test_late_start_within_and_beyond_grace():
    scheduled = dt.datetime(2025, 3, 30, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    newer = [scheduled + dt.timedelta(days=1)]
    assert late_start_reason(scheduled, scheduled + dt.timedelta(minutes=59), 60, newer) is None
    assert late_start_reason(scheduled, scheduled - dt.timedelta(minutes=5), 60, newer) is None
    reason = late_start_reason(scheduled, scheduled.astimezone(UTC) + dt.timedelta(hours=30), 60,
                               newer)
    assert reason and "1800 min late" in reason and "2025-03-29T18:00:00+00:00" in reason
    assert "2025-03-30T18:00:00+00:00 catches up instead" in reason
    assert late_start_reason(None, scheduled, 0, newer) is None


def test_newest_late_run_is_never_cancelled():
    scheduled = dt.datetime(2025, 3, 30, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    now = scheduled + dt.timedelta(hours=30)
    assert late_start_reason(scheduled, now, 60) is None  # nothing behind it
    # A newer run not yet due does not count; nor does an older one.
    assert late_start_reason(scheduled, now, 60, [now + dt.timedelta(hours=1),
                                                  scheduled - dt.timedelta(days=1)]) is None


def test_grace_comes_from_the_environment(monkeypatch):
    scheduled = dt.datetime(2025, 1, 1, tzinfo=UTC)
    newer = [scheduled + dt.timedelta(minutes=5)]
    monkeypatch.setenv("HUBWATCH_NIGHTLY_GRACE_MINUTES", "10")
    get_settings.cache_clear()  # settings are read once per process
    assert late_start_reason(scheduled, scheduled + dt.timedelta(minutes=11), newer=newer)
    monkeypatch.setenv("HUBWATCH_NIGHTLY_GRACE_MINUTES", "15")
    get_settings.cache_clear()
    assert late_start_reason(scheduled, scheduled + dt.timedelta(minutes=11), newer=newer) is None
