"""Publication dates from the forms Chinese and English news pages write them in.

Every result is a time-zone-aware ``datetime`` with the precision the source
really carries (``month|day|hour|minute|second``). Naive values take the site's
time zone (Asia/Shanghai for mainland sites); relative forms (``3小时前``,
``昨天 16:20``, ``2 hours ago``) and year-less forms (``06-15 08:00``) resolve
against the fetch time, never the wall clock, so re-parsing a stored page on a
later day gives the same answer. Values later than the fetch time are refused.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from hubwatch.contract import DEFAULT_TIMEZONE, PRECISIONS

#: Precisions, coarsest first.
#: Dates before this year are page furniture (copyright lines, founding years).
MIN_YEAR = 1990

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}

_TIME = r"(?:\s*(?:T|\s|-)?\s*(?P<H>[01]?\d|2[0-3])\s*[:：时]\s*(?P<M>[0-5]\d)(?:\s*[:：分]\s*(?P<S>[0-5]\d)(?:\.\d+)?)?(?:\s*秒)?)?"
_ZONE = r"(?:\s*(?P<Z>Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d|(?:UTC|GMT)(?:[+-]\d{1,2}(?::?\d\d)?)?|CST|Beijing Time|北京时间)\b)?"
_YMD = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)\s*(?:年\s*(?P<m1>1[0-2]|0?[1-9])\s*月\s*(?:(?P<d1>3[01]|[12]\d|0?[1-9])\s*日)?"
                  r"|(?P<sep>[-/.])(?P<m2>1[0-2]|0?[1-9])(?P=sep)(?P<d2>3[01]|[12]\d|0?[1-9])(?!\d))" + _TIME + _ZONE)
_CN_YMD = re.compile(r"(?P<y>[〇零○Ｏ一二三四五六七八九]{4})年(?P<m>[一二三四五六七八九十]{1,2})月(?:(?P<d>[一二三四五六七八九十]{1,3})日)?")
_EN_MDY = re.compile(r"\b(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(?P<d>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)"
                     r"(?:,?\s*(?:at\s*)?(?P<H>[01]?\d|2[0-3]):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?\s*(?P<ap>[ap]\.?m\.?)?)?" + _ZONE, re.IGNORECASE)
_EN_DMY = re.compile(r"\b(?P<d>3[01]|[12]\d|0?[1-9])\s+(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+(?P<y>(?:19|20)\d\d)"
                     r"(?:,?\s*(?P<H>[01]?\d|2[0-3]):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?)?" + _ZONE, re.IGNORECASE)
_REL_AGO = re.compile(r"(?P<n>\d+|半|一|两|几)\s*(?P<unit>秒|分钟|小时|天|日|周|个月|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)\s*(?:前|以前|ago)", re.IGNORECASE)
_REL_DAY = re.compile(r"(?P<word>刚刚|今天|昨天|前天|just now|today|yesterday)(?:\s*(?P<H>[01]?\d|2[0-3])[:：](?P<M>[0-5]\d))?", re.IGNORECASE)
_MD_TIME = re.compile(r"(?<![\d/-])(?P<m>1[0-2]|0?[1-9])\s*(?:[-/]|月)\s*(?P<d>3[01]|[12]\d|0?[1-9])\s*日?\s+(?P<H>[01]?\d|2[0-3])[:：](?P<M>[0-5]\d)(?![\d:])")
_URL_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<s1>[-/_]?)(?P<m>1[0-2]|0[1-9])(?:(?P<s2>[-/_]?)(?P<d>3[01]|[12]\d|0[1-9]))?(?!\d)")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _cn_number(chars: str) -> int:
    """Value of a Chinese numeral up to 99 (十, 十八, 二十, 三十一)."""
    if "十" in chars:
        tens, _, units = chars.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(units, 0) if units else 0)
    return _CN_DIGITS.get(chars, 0)


def _offset(zone: str | None, tz: ZoneInfo) -> tzinfo:
    """The tzinfo a zone designator names; the site zone when absent or a local name."""
    if not zone or zone in ("CST", "Beijing Time", "北京时间"):
        return _zone(DEFAULT_TIMEZONE) if zone else tz
    if zone == "Z" or zone in ("UTC", "GMT"):
        return _zone("UTC")
    sign = -1 if "-" in zone else 1
    digits = re.sub(r"\D", "", zone)
    hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _build(y: int, m: int, d: int | None, groups: dict, tz: ZoneInfo) -> tuple[datetime, str] | None:
    hour, minute, second = groups.get("H"), groups.get("M"), groups.get("S")
    try:
        naive = datetime(y, m, d or 1, int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    if hour is not None and groups.get("ap"):
        naive += timedelta(hours=12) if groups["ap"].lower().startswith("p") and naive.hour < 12 else timedelta()
    precision = "month" if d is None else "second" if second else "minute" if hour is not None else "day"
    return naive.replace(tzinfo=_offset(groups.get("Z"), tz)), precision


def _absolute(text: str, tz: ZoneInfo) -> tuple[int, tuple[datetime, str]] | None:
    """First absolute date in ``text`` as (position, (value, precision))."""
    found = []
    for pattern in (_YMD, _EN_MDY, _EN_DMY, _CN_YMD):
        for match in pattern.finditer(text):
            value = _from_match(pattern, match, tz)
            if value is not None:
                found.append((match.start(), value))
                break
    return min(found, key=lambda item: item[0]) if found else None


def _from_match(pattern: re.Pattern, match: re.Match, tz: ZoneInfo) -> tuple[datetime, str] | None:
    g = match.groupdict()
    if pattern is _CN_YMD:
        year = int("".join(str(_CN_DIGITS[c]) for c in g["y"]))
        return _build(year, _cn_number(g["m"]), _cn_number(g["d"]) if g["d"] else None, {}, tz)
    if pattern is _YMD:
        month, day = (g["m1"], g["d1"]) if g["m1"] else (g["m2"], g["d2"])
        return _build(int(g["y"]), int(month), int(day) if day else None, g, tz)
    return _build(int(g["y"]), _MONTHS[g["mon"][:3].lower()], int(g["d"]), g, tz)


def _relative(text: str, base: datetime) -> tuple[int, tuple[datetime, str]] | None:
    """Relative forms resolved against ``base`` (aware, in the site zone)."""
    match = _REL_AGO.search(text)
    if match:
        n = {"半": 0.5, "一": 1, "两": 2, "几": 3}.get(match["n"]) or int(match["n"])
        unit = match["unit"].lower()
        for keys, delta, precision in ((("秒", "sec"), timedelta(seconds=1), "minute"),
                                       (("分", "min"), timedelta(minutes=1), "minute"),
                                       (("小时", "hour", "hr"), timedelta(hours=1), "hour"),
                                       (("天", "日", "day"), timedelta(days=1), "day"),
                                       (("周", "week"), timedelta(weeks=1), "day"),
                                       (("个月",), timedelta(days=30), "month")):
            if unit.startswith(keys):
                return match.start(), ((base - n * delta).replace(second=0, microsecond=0), precision)
    match = _REL_DAY.search(text)
    if match:
        word = match["word"].lower()
        if word in ("刚刚", "just now"):
            return match.start(), (base.replace(second=0, microsecond=0), "minute")
        days = {"今天": 0, "today": 0, "昨天": 1, "yesterday": 1, "前天": 2}[word]
        day = base - timedelta(days=days)
        if match["H"] is None:
            return match.start(), (_truncate(day, "day"), "day")
        return match.start(), (day.replace(hour=int(match["H"]), minute=int(match["M"]), second=0, microsecond=0), "minute")
    return None


def _truncate(value: datetime, precision: str) -> datetime:
    """Drop the parts finer than ``precision`` (``yesterday`` is a day, not a time)."""
    value = value.replace(microsecond=0)
    if precision in ("minute", "hour", "day", "month"):
        value = value.replace(second=0)
    if precision in ("hour", "day", "month"):
        value = value.replace(minute=0)
    if precision in ("day", "month"):
        value = value.replace(hour=0)
    return value.replace(day=1) if precision == "month" else value


def _yearless(text: str, base: datetime) -> tuple[int, tuple[datetime, str]] | None:
    """``06-15 08:00`` / ``6月15日 08:00``: this year, or last year when that would be after ``base``."""
    match = _MD_TIME.search(text)
    if not match:
        return None
    try:
        value = base.replace(month=int(match["m"]), day=int(match["d"]), hour=int(match["H"]),
                             minute=int(match["M"]), second=0, microsecond=0)
    except ValueError:
        return None
    if value > base:
        value = value.replace(year=value.year - 1)
    return match.start(), (value, "minute")


# Full-width digits and date punctuation (２０２５年６月１７日, １０：３０) read as ASCII.
_FULL_WIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                             "－": "-", "／": "/", "．": ".", "：": ":", "\u3000": " "})


def parse_date(text: str, *, base: datetime, tz: str = DEFAULT_TIMEZONE,
               relative: bool = True) -> tuple[datetime, str] | None:
    """The first date written in ``text`` as (aware datetime, precision), or None.

    ``base`` is the fetch time (aware; relative and year-less forms resolve against
    it, in the zone ``tz``). Accepts ISO 8601 and its space/slash/dot variants,
    ``2025年6月18日 09:30``, ``二〇二五年六月十八日``, ``June 18, 2025``, ``18 June 2025``,
    ``3小时前``, ``昨天 16:20``, ``2 hours ago``, ``06-15 08:00``. Values later than
    ``base`` or before ``MIN_YEAR`` are refused (None). An absolute date in ``text`` beats
    a relative phrase in it; ``relative=False`` reads absolute and year-less forms only.
    Full-width digits read as their ASCII forms (``２０２５年６月１７日``).
    """
    zone = _zone(tz)
    local_base = base.astimezone(zone)
    text = text.translate(_FULL_WIDTH)
    found = [hit for hit in (_absolute(text, zone),) if hit and _acceptable(hit[1], base)]
    if not found and relative:
        found = [hit for hit in (_relative(text, local_base),) if hit]
    if not found:
        found = [hit for hit in (_yearless(text, local_base),) if hit]
    for _, (value, precision) in sorted(found, key=lambda item: item[0]):
        if MIN_YEAR <= value.year and value <= base:
            return value, precision
    return None


def _acceptable(value: tuple[datetime, str], base: datetime) -> bool:
    return MIN_YEAR <= value[0].year and value[0] <= base


def date_from_url(url: str | None, *, base: datetime, tz: str = DEFAULT_TIMEZONE) -> tuple[datetime, str] | None:
    """A date in a URL path at the precision it carries: ``/2024/0510/``,
    ``/2024-05/10/``, ``/20240510/`` -> day; ``/202405/`` or ``/2024-05/`` -> month.
    Midnight in ``tz``; None when absent, impossible or later than ``base``."""
    if not url:
        return None
    path = url.split("?")[0].split("://", 1)[-1]
    found = []
    for match in _URL_DATE.finditer(path):
        if match["d"] is None and match["s1"] == "" and path[match.end():match.end() + 1] not in ("/", "_", "-", ".", ""):
            continue
        built = _build(int(match["y"]), int(match["m"]), int(match["d"]) if match["d"] else None, {}, _zone(tz))
        if built and built[0] <= base:
            found.append(built)
    # gov.cn writes /202405/t20240510_1.html: the day-precise form wins over the folder month
    return max(found, key=lambda item: PRECISIONS.index(item[1]), default=None)
