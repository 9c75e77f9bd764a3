"""The per-year business-time index behind :class:`~engine.calendar.business.BusinessCalendar`.

Time is integer microseconds since the Unix epoch (UTC): exact, no float drift.
For one local year of a calendar the index holds the open intervals as two
sorted lists ``starts``/``ends`` (touching intervals merged, so 24/7 is one
interval) and ``cum[i]``, the business time from the start of the year to the
end of interval ``i``.  The *position* of an instant (business time elapsed
since the year started) is then one bisection, and so is its inverse, which
makes ``add``/``between`` cost O(log n) whatever the amount.

Wall-clock boundaries become instants with ``fold=0``: a time inside a DST gap
moves forward by the gap (02:30 -> 03:30 on the spring-forward night) and an
ambiguous time is its first occurrence.  Each local day owns
``[D(day), D(day + 1))`` where ``D`` is its 00:00 so converted; intervals are
clipped to the day and to the end of the previous interval, because moving a
gap time forward can make a boundary pass the next one (an interval lying
wholly inside the gap is empty).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, datetime, timedelta, timezone
from typing import Mapping

from ..core.memo import remember
from .spec import CalendarRules

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_US = timedelta(microseconds=1)
ONE_DAY = timedelta(days=1)
_UNIX_DAY_ONE = date(1970, 1, 1).toordinal()
_OFFSETS_US: dict[timezone, int] = {}  # fixed-offset zone -> its offset in microseconds (a bounded memo)
_OFFSETS_SIZE = 4096  # offsets come from input


def epoch_us(t: datetime) -> int:
    """Microseconds since the epoch of aware ``t``; ``TypeError`` if ``t`` is naive.

    A ``datetime`` in a fixed-offset zone (what RFC 3339 parsing gives) is converted from its
    fields with the offset remembered per zone: aware datetime subtraction asks both operands
    for their offsets and builds two timedeltas, and this runs for every ticket.
    """
    tz = t.tzinfo
    if type(tz) is timezone and type(t) is datetime:
        offset = _OFFSETS_US.get(tz)
        if offset is None:
            offset = remember(_OFFSETS_US, tz, tz.utcoffset(None) // ONE_US, _OFFSETS_SIZE)
        return (((t.toordinal() - _UNIX_DAY_ONE) * 86400 + t.hour * 3600 + t.minute * 60 + t.second) * 1_000_000
                + t.microsecond - offset)
    return (t - EPOCH) // ONE_US


def wall_us(tz, day: date, minute: int) -> int:
    """Epoch microseconds of wall time ``minute`` (0..1440) on ``day`` in ``tz``, ``fold=0``."""
    if minute >= 1440:
        day += ONE_DAY
        minute -= 1440
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
    return (local - EPOCH) // ONE_US


class YearIndex:
    """Open intervals of one local year; immutable once built."""

    __slots__ = ("year", "start_us", "end_us", "day_starts", "starts", "ends", "cum", "total")

    def __init__(self, year: int, day_starts: list[int], starts: list[int], ends: list[int], cum: list[int]):
        self.year = year
        self.day_starts = day_starts  # D(Jan 1) ... D(Jan 1 next year), one per day + 1
        self.start_us = day_starts[0]
        self.end_us = day_starts[-1]
        self.starts = starts
        self.ends = ends
        self.cum = cum
        self.total = cum[-1] if cum else 0

    def position(self, us: int) -> int:
        """Business time from the start of the year to ``us`` (which lies in the year)."""
        i = bisect_right(self.starts, us) - 1
        if i < 0:
            return 0
        end = self.ends[i]
        return self.cum[i] - (end - us) if us < end else self.cum[i]

    def earliest(self, target: int) -> int:
        """Earliest instant at ``target`` business time; ``0 < target <= total``.

        A target reached exactly at a closing time is that closing time.
        """
        i = bisect_left(self.cum, target)
        return self.ends[i] - (self.cum[i] - target)

    def latest(self, target: int) -> int:
        """Latest instant at ``target`` business time; ``0 <= target < total``.

        A target reached exactly at a closing time is the next opening.
        """
        i = bisect_right(self.cum, target)
        return self.ends[i] - (self.cum[i] - target)

    def is_open(self, us: int) -> bool:
        i = bisect_right(self.starts, us) - 1
        return i >= 0 and us < self.ends[i]

    def next_open(self, us: int) -> int | None:
        """``us`` if open, else the next opening in this year (None if there is none)."""
        i = bisect_right(self.starts, us) - 1
        if i >= 0 and us < self.ends[i]:
            return us
        return self.starts[i + 1] if i + 1 < len(self.starts) else None

    def day_intervals(self, index: int) -> list[tuple[int, int]]:
        """Open intervals of the ``index``-th day of the year, clipped to the day."""
        lo, hi = self.day_starts[index], self.day_starts[index + 1]
        i = max(bisect_right(self.starts, lo) - 1, 0)
        out = []
        while i < len(self.starts) and self.starts[i] < hi:
            s, e = max(self.starts[i], lo), min(self.ends[i], hi)
            if s < e:
                out.append((s, e))
            i += 1
        return out


def day_hours(rules: CalendarRules, day: date, holidays: Mapping[date, str]) -> tuple[tuple[int, int], ...]:
    """The wall-clock intervals (minutes) that apply on ``day``."""
    special = rules.special.get(day)
    if special is not None:
        return special[0]
    if day in holidays:
        return ()
    return rules.weekly[day.weekday()]


def build_year(rules: CalendarRules, year: int, holidays: Mapping[date, str]) -> YearIndex:
    tz = rules.tz
    first = date(year, 1, 1)
    ndays = (date(year + 1, 1, 1) - first).days
    days = [first + timedelta(days=i) for i in range(ndays + 1)]
    day_starts = [wall_us(tz, d, 0) for d in days]
    starts: list[int] = []
    ends: list[int] = []
    cum: list[int] = []
    total = 0
    for i in range(ndays):
        day = days[i]
        lo, hi = day_starts[i], day_starts[i + 1]
        prev = lo
        for a, b in day_hours(rules, day, holidays):
            s = lo if a == 0 else wall_us(tz, day, a)
            e = hi if b >= 1440 else wall_us(tz, day, b)
            s = max(s, prev)
            e = min(e, hi)
            if e <= s:
                continue
            total += e - s
            if ends and ends[-1] == s:
                ends[-1] = e
                cum[-1] = total
            else:
                starts.append(s)
                ends.append(e)
                cum.append(total)
            prev = e
    return YearIndex(year, day_starts, starts, ends, cum)


def first_open_day(rules: CalendarRules) -> date | None:
    """The first date of the calendar's supported years with opening hours (weekly or special, and
    not a holiday), or None when it is never open there, so that no business time can be counted.

    A calendar with weekly hours is open within its first week or two unless holidays close it, so
    the search stops early; one that is never open costs one holiday table per supported year."""
    if not rules.has_open_time:
        return None
    first, last = rules.holidays.years
    if not any(rules.weekly):  # special hours only (they apply on holidays too)
        days = [day for day, (hours, _) in rules.special.items() if hours and first <= day.year <= last]
        return min(days, default=None)
    for year in range(first, last + 1):
        holidays = rules.holidays.for_year(year)
        day, end = date(year, 1, 1), date(year, 12, 31)
        while day <= end:
            if day_hours(rules, day, holidays):
                return day
            day += ONE_DAY
    return None
