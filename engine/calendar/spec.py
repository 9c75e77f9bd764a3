"""Semantic checks of a ``BusinessCalendar`` spec, and its compiled form.

The JSON Schema checks shapes; this module checks meaning (a real IANA zone, a
holidays country, intervals that do not overlap, dates that exist ...).  One
reader does both jobs: :func:`check_calendar_spec` yields every problem it
finds, :func:`compile_calendar_spec` returns :class:`CalendarRules` or raises
:class:`CalendarError` listing them.  Paths are relative to ``spec``.

Interval conventions: ``"HH:MM-HH:MM"`` on the 24-hour clock, half-open
``[open, close)``, ``close`` may be ``24:00``.  Touching intervals
(``09:00-12:00`` and ``12:00-17:00``) are allowed and merge.
"""
from __future__ import annotations

import re
import zoneinfo
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from .duration import Duration
from ..core.errors import CalendarError, DurationError, Problem
from ..core.suggest import close_matches
from .holidays import (
    MAX_YEAR,
    MIN_YEAR,
    HolidaySource,
    country_info,
    read_holiday_country,
)
from ..core.zones import timezone_problem

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Interval = tuple[int, int]  # minutes after local midnight, [open, close)

_INTERVAL = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_LOOSE_INTERVAL = re.compile(r"^\s*(\d{1,2})(?:[:.](\d{2}))?\s*[-\u2013\u2014]\s*(\d{1,2})(?:[:.](\d{2}))?\s*$")
_RECURRING = re.compile(r"^(\d{2})-(\d{2})$")
_ONE_OFF = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class CalendarRules:
    """A checked calendar spec: everything a :class:`BusinessCalendar` needs."""

    timezone: str
    tz: zoneinfo.ZoneInfo
    weekly: tuple[tuple[Interval, ...], ...]          # index 0 = Monday
    special: Mapping[date, tuple[tuple[Interval, ...], str]]
    holidays: HolidaySource
    business_day_us: int | None                      # None: the calendar is never open

    @property
    def has_open_time(self) -> bool:
        return any(self.weekly) or any(hours for hours, _ in self.special.values())


def check_calendar_spec(spec: Any) -> Iterator[Problem]:
    """Yield every semantic problem of a ``BusinessCalendar`` spec (never stops at the first)."""
    reader = _Reader()
    reader.read(spec)
    yield from reader.problems


def compile_calendar_spec(name: str, spec: Any) -> CalendarRules:
    """Check ``spec`` and compile it; raises :class:`CalendarError` naming every error (the first
    five, each with its suggestion)."""
    reader = _Reader()
    rules = reader.read(spec)
    errors = [p for p in reader.problems if p.is_error]
    if errors or rules is None:
        shown = "; ".join(str(p.at(show_suggestion=True)) for p in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise CalendarError(f"calendar {name!r} is invalid: {shown or 'no spec'}{more}")
    return rules


def _fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_interval(interval: Interval) -> str:
    return f"{_fmt(interval[0])}-{_fmt(interval[1])}"


def _day_list(days: list[int]) -> str:
    return ", ".join(DAYS[d] for d in days)


class _Reader:
    """Reads a spec, collecting problems; returns ``None`` when it cannot compile.

    Its problems keep their suggestion as a field without showing it in the message (the
    message says what is expected); :func:`compile_calendar_spec` shows them.
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.ok = True

    def error(self, message: str, path: tuple, suggestion: str | None = None) -> None:
        self.add(Problem(message, path=path, suggestion=suggestion, show_suggestion=False))

    def add(self, problem: Problem) -> None:
        self.ok = False
        self.problems.append(problem)

    def warn(self, message: str, path: tuple, suggestion: str | None = None) -> None:
        self.problems.append(Problem(message, path=path, severity="warning", suggestion=suggestion,
                                     show_suggestion=False))

    # -- top level -------------------------------------------------------
    def read(self, spec: Any) -> CalendarRules | None:
        if not isinstance(spec, Mapping):
            self.error("a BusinessCalendar spec must be a mapping", ())
            return None
        tz = self.read_timezone(spec.get("timezone"))
        weekly = self.read_hours(spec.get("hours", {}))
        source, first_year, last_year = self.read_holidays(spec.get("holidays"))
        special = self.read_special(spec.get("special_hours", []), first_year, last_year)
        if self.ok and not any(weekly) and not any(hours for hours, _ in special.values()):
            self.warn("the calendar has no open time: business durations on it cannot be computed", ("hours",))
        business_day_us = self.read_business_day(spec.get("business_day"), weekly)
        if not self.ok or tz is None or source is None:
            return None
        return CalendarRules(
            timezone=spec["timezone"],
            tz=tz,
            weekly=weekly,
            special=MappingProxyType(special),
            holidays=source,
            business_day_us=business_day_us,
        )

    def read_timezone(self, name: Any) -> zoneinfo.ZoneInfo | None:
        path = ("timezone",)
        if name is None:
            self.error("timezone is required (an IANA name such as 'Europe/Copenhagen')", path)
            return None
        if not isinstance(name, str):
            self.error(f"timezone must be a string, not {type(name).__name__}", path)
            return None
        try:
            return zoneinfo.ZoneInfo(name)
        except (ValueError, OSError, TypeError, zoneinfo.ZoneInfoNotFoundError):
            pass
        self.add(timezone_problem(name, path))
        return None

    # -- weekly hours ----------------------------------------------------
    def read_hours(self, hours: Any) -> tuple[tuple[Interval, ...], ...]:
        per_day: list[list[tuple[Interval, tuple, str, str, int]]] = [[] for _ in DAYS]
        if not isinstance(hours, Mapping):
            self.error("hours must map days (mon, tue, ... or ranges like mon-fri) to lists of intervals", ("hours",))
            return tuple(() for _ in DAYS)
        seq = 0  # document order, so that an overlap is reported at the later interval
        for key, intervals in hours.items():
            days = self.read_day_key(key)
            parsed = self.read_intervals(intervals, ("hours", key))
            if days is None:
                continue
            for interval, path, text in parsed:
                seq += 1
                for day in days:
                    per_day[day].append((interval, path, text, str(key), seq))
        overlaps: dict[tuple, list[int]] = {}
        for day, entries in enumerate(per_day):
            self.collect_overlaps(entries, day, overlaps)
        for (path, text, other_text, other_key), days in overlaps.items():
            self.error(f"interval {text!r} overlaps {other_text!r} of {other_key!r} on {_day_list(days)}", path)
        return tuple(_merge(interval for interval, *_ in entries) for entries in per_day)

    def read_day_key(self, key: Any) -> list[int] | None:
        path = ("hours", key)
        text = str(key)
        if text in DAYS:
            return [DAYS.index(text)]
        parts = text.split("-")
        if len(parts) == 2 and all(p in DAYS for p in parts):
            a, b = DAYS.index(parts[0]), DAYS.index(parts[1])
            if a > b:
                wrap = [f"{parts[0]}-sun" if a < 6 else "sun", f"mon-{parts[1]}" if b > 0 else "mon"]
                self.error(
                    f"day range {text!r} is descending; ranges run from mon to sun: use '{wrap[0]}' and '{wrap[1]}'",
                    path,
                )
                return None
            return list(range(a, b + 1))
        guess = re.sub(r"[^a-z\-]", "", text.lower())
        pieces = [close_matches(p[:3], DAYS, cutoff=0.5) for p in guess.split("-") if p]
        suggestion = "-".join(m[0] for m in pieces) if pieces and all(pieces) and len(pieces) <= 2 else None
        self.error(
            f"unknown day {text!r}: expected one of {', '.join(DAYS)} or an ascending range such as 'mon-fri'",
            path,
            suggestion if suggestion != text else None,
        )
        return None

    def read_intervals(self, intervals: Any, path: tuple) -> list[tuple[Interval, tuple, str]]:
        if not isinstance(intervals, (list, tuple)):
            self.error("expected a list of 'HH:MM-HH:MM' intervals ([] means closed)", path)
            return []
        out = []
        for i, text in enumerate(intervals):
            interval = self.read_interval(text, path + (i,))
            if interval is not None:
                out.append((interval, path + (i,), str(text)))
        return out

    def read_interval(self, text: Any, path: tuple) -> Interval | None:
        m = _INTERVAL.match(text) if isinstance(text, str) else None
        if m is None:
            loose = _LOOSE_INTERVAL.match(text) if isinstance(text, str) else None
            suggestion = None
            if loose:
                h1, m1, h2, m2 = (int(g or 0) for g in loose.groups())
                suggestion = f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"
            self.error(f"invalid interval {text!r}: expected 'HH:MM-HH:MM' (end may be 24:00)", path, suggestion)
            return None
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
            self.error(f"invalid interval {text!r}: times run from 00:00 to 23:59 (end may be 24:00)", path)
            return None
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start == end:
            self.error(f"interval {text!r} is empty (it opens and closes at the same time)", path)
            return None
        if start > end:
            self.error(
                f"interval {text!r} ends before it starts; an interval cannot cross midnight: "
                f"use '{_fmt(start)}-24:00' on this day and '00:00-{_fmt(end)}' on the next",
                path,
            )
            return None
        return start, end

    @staticmethod
    def collect_overlaps(entries: list, day: int, overlaps: dict) -> None:
        """Entries are ``(interval, path, text, key, seq)``; the problem goes to the later one."""
        ordered = sorted(entries, key=lambda e: (e[0][0], e[0][1]))
        reach: tuple | None = None  # the entry whose interval ends last so far
        for entry in ordered:
            if reach is not None and entry[0][0] < reach[0][1]:
                later, earlier = (entry, reach) if entry[4] > reach[4] else (reach, entry)
                key = (later[1], later[2], earlier[2], earlier[3])
                days = overlaps.setdefault(key, [])
                if day not in days:
                    days.append(day)
            if reach is None or entry[0][1] > reach[0][1]:
                reach = entry

    # -- holidays --------------------------------------------------------
    def read_holidays(self, block: Any) -> tuple[HolidaySource | None, int, int]:
        if block is None:
            return HolidaySource(), MIN_YEAR, MAX_YEAR
        base = ("holidays",)
        if not isinstance(block, Mapping):
            self.error("holidays must be a mapping", base)
            return None, MIN_YEAR, MAX_YEAR
        country, subdivision, categories = self.read_country(block, base)
        first, last = MIN_YEAR, MAX_YEAR
        if country is not None:
            first, last = country_info(country)[3:]
        include_rec: dict[tuple[int, int], list[str]] = {}
        include_once: dict[date, list[str]] = {}
        seen_include: dict[Any, int] = {}
        for i, entry in self.entries(block.get("include", []), base + ("include",)):
            when = self.read_date(entry.get("date"), base + ("include", i, "date"), first, last)
            name = str(entry.get("name") or "holiday")
            if when is not None:
                target = include_once if isinstance(when, date) else include_rec
                target.setdefault(when, []).append(name)
                seen_include.setdefault(when, i)
        exclude_rec: set[tuple[int, int]] = set()
        exclude_once: set[date] = set()
        for i, entry in self.entries(block.get("exclude", []), base + ("exclude",)):
            path = base + ("exclude", i, "date")
            when = self.read_date(entry.get("date"), path, first, last)
            if when is None:
                continue
            if when in seen_include:
                self.error(f"{_date_text(when)} is both included (include[{seen_include[when]}]) and excluded", path)
            (exclude_once if isinstance(when, date) else exclude_rec).add(when)
        if not self.ok:
            return None, first, last
        source = HolidaySource(
            country=country,
            subdivision=subdivision,
            categories=categories,
            include_recurring=MappingProxyType({k: tuple(v) for k, v in include_rec.items()}),
            include_once=MappingProxyType({k: tuple(v) for k, v in include_once.items()}),
            exclude_recurring=frozenset(exclude_rec),
            exclude_once=frozenset(exclude_once),
        )
        return source, first, last

    def read_country(self, block: Mapping, base: tuple) -> tuple[str | None, str | None, tuple[str, ...]]:
        (country, subdivision, categories), problems = read_holiday_country(block)
        for problem in problems:
            self.add(problem.prefixed(*base))
        return country, subdivision, categories

    def entries(self, items: Any, path: tuple) -> list[tuple[int, Mapping]]:
        """The mappings of a list with their index; anything else is a problem."""
        if not isinstance(items, (list, tuple)):
            self.error("expected a list of {date: ...} entries", path)
            return []
        out = []
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                out.append((i, item))
            else:
                self.error("expected a mapping with a 'date'", path + (i,))
        return out

    def read_date(self, value: Any, path: tuple, first: int, last: int, recurring: bool = True) -> Any:
        """``(month, day)`` for ``"MM-DD"``, a :class:`date` for ``"YYYY-MM-DD"``, None on error."""
        forms = "'MM-DD' (every year) or 'YYYY-MM-DD'" if recurring else "'YYYY-MM-DD'"
        if isinstance(value, date):  # an unquoted YAML date
            day = value if type(value) is date else value.date()
        elif isinstance(value, str) and (m := _ONE_OFF.match(value)):
            try:
                day = date(*(int(g) for g in m.groups()))
            except ValueError as exc:
                self.error(f"invalid date {value!r}: {exc}", path)
                return None
        elif recurring and isinstance(value, str) and (m := _RECURRING.match(value)):
            month, dom = (int(g) for g in m.groups())
            try:
                date(2000, month, dom)  # a leap year, so 02-29 is allowed
            except ValueError as exc:
                self.error(f"invalid date {value!r}: {exc}", path)
                return None
            return month, dom
        else:
            self.error(f"invalid date {value!r}: expected {forms}", path)
            return None
        if not first <= day.year <= last:
            self.error(f"date {day.isoformat()} is outside the supported years {first}-{last}", path)
            return None
        return day

    # -- special hours -----------------------------------------------------
    def read_special(self, items: Any, first: int, last: int) -> dict[date, tuple[tuple[Interval, ...], str]]:
        special: dict[date, tuple[tuple[Interval, ...], str]] = {}
        where: dict[date, int] = {}
        for i, entry in self.entries(items, ("special_hours",)):
            path = ("special_hours", i)
            day = self.read_date(entry.get("date"), path + ("date",), first, last, recurring=False)
            parsed = self.read_intervals(entry.get("hours", []), path + ("hours",))
            entries = [(interval, p, text, "special_hours", n) for n, (interval, p, text) in enumerate(parsed)]
            overlaps: dict[tuple, list[int]] = {}
            self.collect_overlaps(entries, 0, overlaps)
            for (p, text, other_text, _), _days in overlaps.items():
                self.error(f"interval {text!r} overlaps {other_text!r} on the same date", p)
            if day is None:
                continue
            if day in special:
                self.error(
                    f"duplicate special_hours date {day.isoformat()} (already given in special_hours[{where[day]}])",
                    path + ("date",),
                )
                continue
            where[day] = i
            special[day] = (_merge(interval for interval, _, _ in parsed), str(entry.get("name") or "special hours"))
        return special

    # -- business day ------------------------------------------------------
    def read_business_day(self, value: Any, weekly: tuple[tuple[Interval, ...], ...]) -> int | None:
        if value is None:
            return _default_business_day(weekly)
        path = ("business_day",)
        try:
            duration = Duration.parse(value, allow_negative=True)
        except DurationError as exc:
            self.error(f"business_day: {exc.text}", path, exc.suggestion)
            return None
        if duration.unit not in ("minutes", "hours"):
            factor, unit = {"days": (24, "hours"), "business_minutes": (1, "minutes")}.get(duration.unit, (1, "hours"))
            hint = str(Duration(abs(duration.amount) * factor, unit)) if duration.unit != "business_days" else None
            self.error(f"business_day must be in minutes or hours, not {duration.unit}", path, hint)
            return None
        if duration.amount <= 0:
            self.error(f"business_day must be positive, got {str(duration)!r}", path)
            return None
        return duration.microseconds()


def _merge(intervals) -> tuple[Interval, ...]:
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def _default_business_day(weekly: tuple[tuple[Interval, ...], ...]) -> int | None:
    """Most common non-zero open length among Mon-Fri (ties: the longer); else among all days."""
    for days in (weekly[:5], weekly):
        lengths = Counter(sum(e - s for s, e in day) for day in days)
        lengths.pop(0, None)
        if lengths:
            minutes = max(lengths, key=lambda m: (lengths[m], m))
            return minutes * 60_000_000
    return None


def _date_text(when: Any) -> str:
    return when.isoformat() if isinstance(when, date) else f"{when[0]:02d}-{when[1]:02d}"
