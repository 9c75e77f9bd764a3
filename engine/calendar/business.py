"""Business calendars: opening hours, holidays and exact business-time arithmetic.

The contract (instants are timezone-aware datetimes in any zone; results are
aware datetimes in the calendar's zone, a :class:`zoneinfo.ZoneInfo`):

* Business time elapses only inside open intervals, read as wall-clock times in
  the calendar's zone.  Intervals are half-open ``[open, close)``.  A holiday
  closes the whole day; ``special_hours`` replace a date's weekly hours and
  override a holiday on that date.
* A clock started outside open hours starts at the next opening.
* ``add(start, d)`` with ``d > 0`` business time is the *earliest* instant
  ``t`` with ``between(start, t) == d``: a deadline that falls exactly on a
  closing boundary is that closing time (Tue 17:00), not the next opening.
  ``add(start, "0 business_hours")`` is ``start``.
* ``subtract(end, d)`` with ``d > 0`` is the *latest* instant ``t`` with
  ``between(t, end) == d``; so ``subtract(add(a, d), d)`` is the first business
  instant at or after ``a`` (``next_open(a)``), never the previous evening.
* ``between(a, b)`` is the business time in ``[a, b)``, negative if ``b < a``.
* Across DST, opening hours stay as written on the wall clock: 09:00-17:00 is
  09:00-17:00 local on both sides; 00:00-24:00 on the spring-forward day is
  23 h of business time and 25 h on the fall-back day.  A boundary inside a
  DST gap moves forward by the gap; an ambiguous one is its first occurrence.
* ``N business_days`` is ``N x business_day`` of business time; ``days`` keep
  the wall-clock time; ``minutes``/``hours`` are elapsed time (see
  :mod:`engine.calendar.duration`).
* Arithmetic is on integer microseconds since the epoch; durations finer than
  a microsecond are rounded half to even.
* Supported years are 1970-2100 (fewer if the ``holidays`` package covers fewer
  for the country); other years raise :class:`CalendarError`.  If a business
  clock finds no open time for :data:`HORIZON_YEARS` consecutive years it
  raises instead of searching on.

A calendar is immutable and safe to share between threads: its per-year index
(see :mod:`engine.calendar.index`) is built lazily under a lock and published
whole.
"""
from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from datetime import date, datetime, timedelta
from typing import Any

from .explain import explain_add
from .index import EPOCH, ONE_US, YearIndex, build_year, day_hours, epoch_us
from .spec import DAYS, CalendarRules, check_calendar_spec, compile_calendar_spec, format_interval
from .duration import Duration
from ..core.errors import CalendarError, DurationError
from ..core.memo import remember

__all__ = ["BusinessCalendar", "check_calendar_spec", "HORIZON_YEARS"]

HORIZON_YEARS = 10

_ELAPSED, _DAYS, _BUSINESS = 0, 1, 2
_KIND = {
    "minutes": _ELAPSED,
    "hours": _ELAPSED,
    "days": _DAYS,
    "business_minutes": _BUSINESS,
    "business_hours": _BUSINESS,
    "business_days": _BUSINESS,
}
_RESOLVED_CACHE_SIZE = 4096
_US_PER_YEAR = 31_556_952_000_000  # mean Gregorian year: a year hint for the index
_fromtimestamp = datetime.fromtimestamp


class BusinessCalendar:
    """A named business calendar.  Build it with :meth:`from_spec`."""

    __slots__ = ("_name", "_rules", "_tz", "_years", "_lock", "_resolved", "_resolved_many", "_range",
                 "__weakref__")

    def __init__(self, name: str, rules: CalendarRules):
        set_ = object.__setattr__
        set_(self, "_name", name)
        set_(self, "_rules", rules)
        set_(self, "_tz", rules.tz)
        set_(self, "_years", {})
        set_(self, "_lock", threading.Lock())
        set_(self, "_resolved", {})
        set_(self, "_resolved_many", {})  # id(tuple of durations) -> (that tuple, business amounts or None)
        set_(self, "_range", rules.holidays.years)

    @classmethod
    def from_spec(cls, name: str, spec: dict) -> "BusinessCalendar":
        """Build from the ``spec`` of a ``BusinessCalendar`` document.

        Raises :class:`CalendarError` naming the problems if
        :func:`check_calendar_spec` would report errors.
        """
        return cls(name, compile_calendar_spec(name, spec))

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("BusinessCalendar is immutable")

    def __delattr__(self, key: str) -> None:
        raise AttributeError("BusinessCalendar is immutable")

    def __repr__(self) -> str:
        return f"BusinessCalendar({self._name!r}, timezone={self.timezone!r})"

    # -- properties ----------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def timezone(self) -> str:
        """The IANA zone name, e.g. ``"Europe/Copenhagen"``."""
        return self._rules.timezone

    @property
    def tz(self):
        """The calendar's :class:`zoneinfo.ZoneInfo`."""
        return self._tz

    @property
    def business_day(self) -> timedelta:
        """Business time in one ``business_days`` unit (``timedelta(0)`` if never open)."""
        return timedelta(microseconds=self._rules.business_day_us or 0)

    @property
    def years(self) -> tuple[int, int]:
        """First and last supported year, inclusive."""
        return self._range

    def weekly_hours(self) -> dict[str, list[str]]:
        """``{"mon": ["09:00-17:00"], ..., "sun": []}`` (merged, sorted)."""
        return {day: [format_interval(i) for i in self._rules.weekly[n]] for n, day in enumerate(DAYS)}

    def special_hours(self) -> dict[date, tuple[list[str], str]]:
        """``{date: (intervals, name)}`` sorted by date; ``[]`` means closed all day."""
        special = self._rules.special
        return {d: ([format_interval(i) for i in special[d][0]], special[d][1]) for d in sorted(special)}

    def holidays(self, year: int) -> dict[date, str]:
        """Holidays of ``year`` sorted by date: country holidays of the configured
        categories, plus ``include``, minus ``exclude``; several names joined by ``"; "``."""
        return dict(self._holidays_for(year))

    # -- index ---------------------------------------------------------------
    def _holidays_for(self, year: int):
        first, last = self._range
        if isinstance(year, bool) or not isinstance(year, int) or not first <= year <= last:
            raise CalendarError(f"calendar {self._name!r}: year {year!r} is outside the supported years {first}-{last}")
        return self._rules.holidays.for_year(year)

    def _year(self, year: int) -> YearIndex:
        found = self._years.get(year)
        if found is not None:
            return found
        holidays = self._holidays_for(year)
        with self._lock:
            found = self._years.get(year)
            if found is None:
                found = build_year(self._rules, year, holidays)
                self._years[year] = found
        return found

    def _locate(self, us: int, hint: int) -> YearIndex:
        yr = self._years.get(hint)
        if yr is not None and yr.start_us <= us < yr.end_us:
            return yr
        first, last = self._range
        yr = self._year(min(max(hint, first), last))
        while us < yr.start_us:
            yr = self._year(yr.year - 1)
        while us >= yr.end_us:
            yr = self._year(yr.year + 1)
        return yr

    def _step(self, yr: YearIndex, delta: int, empty: int, since: datetime) -> tuple[YearIndex, int]:
        """The next (delta=1) or previous (delta=-1) year; guards against endless search."""
        if not self._rules.has_open_time:
            raise CalendarError(f"calendar {self._name!r} has no open time")
        empty = empty + 1 if yr.total == 0 else 0
        if empty >= HORIZON_YEARS:
            where = "after" if delta > 0 else "before"
            raise CalendarError(
                f"calendar {self._name!r} has no open time within {HORIZON_YEARS} years {where} {since.isoformat()}"
            )
        return self._year(yr.year + delta), empty

    # -- conversions ---------------------------------------------------------
    @staticmethod
    def _to_us(value: Any, argument: str) -> int:
        if not isinstance(value, datetime):
            raise CalendarError(f"{argument} must be a datetime, not {type(value).__name__}")
        try:
            return epoch_us(value)  # TypeError if naive (also a tzinfo giving no offset)
        except TypeError:
            raise CalendarError(f"{argument} must be timezone-aware, got naive datetime {value.isoformat()}") from None

    def _from_us(self, us: int) -> datetime:
        seconds, micros = divmod(us, 1_000_000)
        try:
            if not micros:  # the common case, and fromtimestamp() of an int is exact
                return datetime.fromtimestamp(seconds, self._tz)
            return (EPOCH + timedelta(microseconds=us)).astimezone(self._tz)
        except (OverflowError, OSError, ValueError):
            raise CalendarError("result is outside the datetime range") from None

    def _resolve(self, duration: Any, negate: bool) -> tuple[int, int]:
        key = (duration, negate)
        try:
            return self._resolved[key]
        except KeyError:
            pass
        except TypeError:
            kind = type(duration).__name__
            raise DurationError(f"a duration must be a string like '4 business_hours', not {kind}") from None
        # A string must be non-negative; a Duration object may be negative.
        parsed = duration if isinstance(duration, Duration) else Duration.parse(duration)
        kind = _KIND[parsed.unit]
        if kind == _BUSINESS and not self._rules.has_open_time:
            raise CalendarError(f"calendar {self._name!r} has no open time")
        if parsed.unit == "business_days" and self._rules.business_day_us is None:
            raise CalendarError(f"calendar {self._name!r} has no weekly hours: set business_day in its spec")
        amount = int(parsed.amount) if kind == _DAYS else parsed.microseconds(self._rules.business_day_us)
        return remember(self._resolved, key, (kind, -amount if negate else amount), _RESOLVED_CACHE_SIZE)

    def business_us(self, duration: str | Duration) -> int:
        """The business time of ``duration`` (a ``business_*`` duration) on this calendar, in
        microseconds; ``CalendarError`` for any other unit.

        Internal to the engine: the operator SLA clocks resolve their levels once with it and then
        add them to every ticket with :meth:`add_business_us`.
        """
        kind, amount = self._resolve(duration, False)
        if kind != _BUSINESS:
            raise CalendarError(f"{duration} is not business time")
        return amount

    # -- package-internal access for the SLA clock ------------------------------
    # Internal to the engine: :mod:`engine.sla.clock` measures every phase of a ticket's life on
    # the year index directly (positions, then the earliest instant at a position); these are the
    # named entry points it uses, so that the index arithmetic lives here only.
    def resolve_unit(self, duration: str | Duration) -> tuple[str, int]:
        """``("business", us)``, ``("elapsed", us)`` or ``("days", n)`` for a non-negative
        ``duration`` on this calendar.  Internal to the engine (the SLA clock's meters)."""
        kind, amount = self._resolve(duration, False)
        return ("business" if kind == _BUSINESS else "elapsed" if kind == _ELAPSED else "days"), amount

    def datetime_us(self, us: int) -> datetime:
        """Epoch microseconds ``us`` as an aware datetime in the calendar's zone.  Internal to the
        engine."""
        return self._from_us(us)

    def year_index(self, year: int) -> YearIndex:
        """The (lazily built) index of ``year``.  Internal to the engine."""
        return self._year(year)

    def business_positions(self, instants: list[int]) -> tuple[list[int], YearIndex]:
        """Business positions of the ascending epoch-microsecond ``instants``, relative to the start
        of the year index of ``instants[0]`` (returned too): the business time from ``a`` to ``b`` is
        ``pos[b] - pos[a]``.  Internal to the engine: the SLA clock runs it for every phase of every
        ticket, so ``YearIndex.position`` is inlined here (its one other copy is the index itself)."""
        first = instants[0]
        yr = first_yr = self._locate(first, 1970 + first // _US_PER_YEAR)
        year_starts, ends, cum, year_end = yr.starts, yr.ends, yr.cum, yr.end_us
        offset = 0
        out = []
        for us in instants:
            while us >= year_end:
                offset += yr.total
                yr = self._year(yr.year + 1)
                year_starts, ends, cum, year_end = yr.starts, yr.ends, yr.cum, yr.end_us
            i = bisect_right(year_starts, us) - 1
            if i < 0:
                out.append(offset)
            else:
                close = ends[i]
                out.append(offset + (cum[i] - (close - us) if us < close else cum[i]))
        return out, first_yr

    def earliest_at(self, yr: YearIndex, position: int, since: datetime) -> int:
        """The earliest instant (epoch microseconds) at business ``position`` > 0, counted from the
        start of year index ``yr`` (a closing boundary is that closing time); ``since`` names the
        start in the error if no open time is found.  Internal to the engine."""
        return self._forward_from(yr, position, since)

    # -- arithmetic ------------------------------------------------------------
    def add(self, start: datetime, duration: str | Duration) -> datetime:
        """``start`` plus ``duration`` (see the module docstring for each unit).

        A string must be non-negative; a negative :class:`Duration` (parsed with
        ``allow_negative=True``) subtracts its magnitude.
        """
        kind, amount = self._resolve(duration, False)
        return self._apply(start, "start", kind, amount)

    def subtract(self, end: datetime, duration: str | Duration) -> datetime:
        """``end`` minus ``duration``; for business time the *latest* ``t`` with
        ``between(t, end) == duration``.  ``subtract(end, 0 business_*)`` is ``end``."""
        kind, amount = self._resolve(duration, True)
        return self._apply(end, "end", kind, amount)

    def _apply(self, start: datetime, argument: str, kind: int, amount: int) -> datetime:
        us = self._to_us(start, argument)
        if kind == _BUSINESS:
            if amount > 0:
                return self._from_us(self._forward(us, start.year, amount, start))
            if amount < 0:
                return self._from_us(self._backward(us, start.year, -amount, start))
            return start.astimezone(self._tz)
        if kind == _ELAPSED:
            return self._from_us(us + amount)
        return self._add_days(start, amount)

    def add_many(self, start: datetime, durations) -> tuple[datetime, ...]:
        """``tuple(add(start, d) for d in durations)``, locating ``start`` once (a ticket's
        response and resolution deadlines share their start)."""
        us = self._to_us(start, "start")
        # The resolved amounts of the whole tuple, keyed by its id: hashing a Duration is a Python
        # call, and a ticket's durations are the same tuple object every time.  The entry holds
        # the tuple itself, so its id cannot be reused while the entry exists.
        hit = self._resolved_many.get(id(durations))
        if hit is None or hit[0] is not durations:
            if type(durations) is not tuple:
                return self._add_many(start, us, durations)
            try:
                resolved = tuple(self._resolve(duration, False) for duration in durations)
            except Exception:
                resolved = None
            if resolved is None:  # _add_many raises what resolving in order would raise
                return self._add_many(start, us, durations)
            # positive business amounts only (the common case), or elapsed time only: just their amounts
            forward = all(kind == _BUSINESS and amount > 0 for kind, amount in resolved)
            elapsed = bool(resolved) and all(kind == _ELAPSED for kind, _ in resolved)
            hit = remember(self._resolved_many, id(durations),
                           (durations, tuple(amount for _, amount in resolved) if forward or elapsed else None,
                            elapsed), _RESOLVED_CACHE_SIZE)
        if hit[1] is None:
            return self._add_many(start, us, durations)
        if hit[2]:  # elapsed time: as _apply adds it
            return tuple([self._from_us(us + amount) for amount in hit[1]])
        return self.add_business_us(start, us, hit[1])

    def add_business_us(self, start: datetime, us: int, amounts: tuple[int, ...]) -> tuple[datetime, ...]:
        """``start`` (``us`` microseconds since the epoch) plus each of ``amounts``, microseconds of
        business time, all > 0, as :meth:`add` would give them; ``start`` is located once.

        Internal to the engine, and the one copy of this fast path: :meth:`add_many` uses it, and
        so do the operator SLA clocks (amounts from :meth:`business_us`, resolved once).
        """
        yr = self._locate(us, start.year)
        position = yr.position(us)
        total, cum, ends, tz = yr.total, yr.cum, yr.ends, self._tz
        out = []
        for amount in amounts:
            target = position + amount
            if target <= total:  # YearIndex.earliest, inlined
                i = bisect_left(cum, target)
                due = ends[i] - (cum[i] - target)
            else:
                due = self._forward_from(yr, target, start)
            if due % 1_000_000:
                out.append(self._from_us(due))
            else:  # _from_us, inlined for whole seconds
                try:
                    out.append(_fromtimestamp(due // 1_000_000, tz))
                except (OverflowError, OSError, ValueError):
                    raise CalendarError("result is outside the datetime range") from None
        return tuple(out)

    def _add_many(self, start: datetime, us: int, durations) -> tuple[datetime, ...]:
        """:meth:`add_many` resolving each duration just before it is added."""
        located = None
        out = []
        for duration in durations:
            kind, amount = self._resolve(duration, False)
            if kind == _BUSINESS and amount > 0:
                if located is None:
                    yr = self._locate(us, start.year)
                    located = (yr, yr.position(us))
                out.append(self._from_us(self._forward_from(located[0], located[1] + amount, start)))
            else:
                out.append(self._apply(start, "start", kind, amount))
        return tuple(out)

    def _forward(self, us: int, hint: int, amount: int, since: datetime) -> int:
        yr = self._locate(us, hint)
        return self._forward_from(yr, yr.position(us) + amount, since)

    def _forward_from(self, yr: YearIndex, target: int, since: datetime) -> int:
        """The earliest instant at business position ``target``, counted from the start of ``yr``."""
        empty = 0
        while target > yr.total:
            target -= yr.total
            yr, empty = self._step(yr, 1, empty, since)
        return yr.earliest(target)

    def _backward(self, us: int, hint: int, amount: int, since: datetime) -> int:
        yr = self._locate(us, hint)
        target = yr.position(us) - amount
        empty = 0
        while target < 0:
            yr, empty = self._step(yr, -1, empty, since)
            target += yr.total
        return yr.latest(target)

    def _add_days(self, start: datetime, days: int) -> datetime:
        if days == 0:
            return start.astimezone(self._tz)
        local = start.astimezone(self._tz).replace(tzinfo=None, fold=0)
        try:
            wall = (local + timedelta(days=days)).replace(tzinfo=self._tz)
        except OverflowError:
            raise CalendarError("result is outside the datetime range") from None
        # Round-trip through UTC: a wall time in a DST gap moves forward by the gap.
        return self._from_us((wall - EPOCH) // ONE_US)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time elapsed from ``a`` to ``b`` (open intervals only); negative if ``b < a``."""
        ua, ub = self._to_us(a, "a"), self._to_us(b, "b")
        if ub < ua:
            return -timedelta(microseconds=self._between(ub, b.year, ua, a.year))
        return timedelta(microseconds=self._between(ua, a.year, ub, b.year))

    def _between(self, ua: int, hint_a: int, ub: int, hint_b: int) -> int:
        ya, yb = self._locate(ua, hint_a), self._locate(ub, hint_b)
        if ya is yb:
            return yb.position(ub) - ya.position(ua)
        inner = sum(self._year(y).total for y in range(ya.year + 1, yb.year))
        return ya.total - ya.position(ua) + inner + yb.position(ub)

    def is_open(self, t: datetime) -> bool:
        """Whether ``t`` lies in an open interval (half-open: open at 09:00, closed at 17:00)."""
        us = self._to_us(t, "t")
        return self._locate(us, t.year).is_open(us)

    def next_open(self, t: datetime) -> datetime:
        """``t`` itself if open, else the next opening."""
        us = self._to_us(t, "t")
        if not self._rules.has_open_time:
            raise CalendarError(f"calendar {self._name!r} has no open time")
        yr = self._locate(us, t.year)
        found = yr.next_open(us)
        empty = 0
        while found is None:
            yr, empty = self._step(yr, 1, empty, t)
            found = yr.next_open(yr.start_us)
        return self._from_us(found)

    def open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of local date ``day`` as aware datetimes, clipped to the day."""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise CalendarError(f"day must be a date, not {type(day).__name__}")
        yr = self._year(day.year)
        index = (day - date(day.year, 1, 1)).days
        return [(self._from_us(s), self._from_us(e)) for s, e in yr.day_intervals(index)]

    def day_hours(self, day: date) -> tuple[tuple[int, int], ...]:
        """Wall-clock hours that apply on local date ``day`` as ``(open, close)`` minutes after
        midnight (special hours, else none on a holiday, else the weekly hours).

        Internal to the engine: :mod:`engine.calendar.explain` compares them with the elapsed
        open time to point out DST changes."""
        return day_hours(self._rules, day, self._holidays_for(day.year))

    def closed_reason(self, day: date) -> str | None:
        """Why local date ``day`` has no (or special) hours: a holiday, special hours, or None.

        Internal to the engine: for :mod:`engine.calendar.explain`."""
        special = self._rules.special.get(day)
        holiday = self._holidays_for(day.year).get(day)
        if special is not None:
            over = f", instead of holiday {holiday}" if holiday else ""
            return f"special hours ({special[1]}{over})"
        if holiday is not None:
            return f"holiday ({holiday})"
        return None

    def explain_add(self, start: datetime, duration: str | Duration) -> list[str]:
        """A human-readable account of how ``add(start, duration)`` was counted."""
        return explain_add(self, start, duration)
