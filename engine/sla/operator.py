"""Operator SLAs per charging location: 1st-level, 2nd-level and total deadlines.

Conventions (the contract, see the README):

* ``within`` is calendar time: ``minutes``/``hours`` are elapsed time, ``days``
  are calendar days keeping the wall-clock time (as in :mod:`engine.calendar.duration`).
* ``weekdays_only: true`` counts elapsed time only on Monday to Friday, in the
  location's time zone (else the operator's).  It is computed on a calendar
  open ``mon-fri 00:00-24:00`` in that zone, so it is exact across DST: an
  hour counted is an hour elapsed.  ``N days`` then means ``N x 24`` such hours.
  A deadline that lands exactly at the end of a Friday is reported as
  Saturday 00:00 (the closing boundary), not as Monday 00:00.
* ``first_level_due`` runs from the ticket's ``created_at``;
  ``second_level_due`` from ``escalated_at`` when given, else from
  ``first_level_due``; ``total_due`` is level 1 followed by level 2, from
  ``created_at`` (it ignores ``escalated_at``).
* A location that is not listed, or listed without an SLA, gets the default
  SLA, as a new location does.  A location bound to a non-default SLA is
  ``flagged`` for support colleagues.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping, NamedTuple

from ..calendar.index import epoch_us
from ..calendar.business import BusinessCalendar
from ..calendar.duration import Duration
from ..calendar.holidays import MAX_YEAR, MIN_YEAR
from ..calendar.years import sure_years
from ..core.memo import remember


_WEEKDAY_UNITS = {"minutes": "business_minutes", "hours": "business_hours", "days": "business_days"}


@dataclass(frozen=True)
class Level:
    within: Duration
    weekdays_only: bool

    @classmethod
    def from_spec(cls, spec: dict) -> "Level":
        return cls(Duration.parse(spec["within"]), bool(spec.get("weekdays_only", False)))

    @property
    def counted(self) -> Duration:
        """The duration as the level's clock counts it: weekday time is business time there."""
        if self.weekdays_only:
            return Duration(self.within.amount, _WEEKDAY_UNITS[self.within.unit])
        return self.within

    def __str__(self) -> str:
        return f"{self.within}" + (" (weekdays only)" if self.weekdays_only else "")


@dataclass(frozen=True)
class OperatorSLA:
    id: str
    name: str
    description: str
    first_level: Level
    second_level: Level
    contact: Mapping[str, str] | None
    default: bool
    timezone: str


@dataclass(frozen=True)
class Location:
    id: str
    name: str
    sla: str | None  # the bound SLA id (from either side), None for the default
    timezone: str | None


class OperatorDeadlines(NamedTuple):
    """The operator-SLA part of a decision (immutable; a named tuple, being built per ticket)."""

    sla: OperatorSLA
    location_id: str
    location_known: bool
    flagged: bool
    timezone: str
    first_level_due: datetime
    second_level_due: datetime
    total_due: datetime
    escalated: bool

    def to_dict(self) -> dict:
        return {
            "id": self.sla.id,
            "name": self.sla.name,
            "default": self.sla.default,
            "flagged": self.flagged,
            "location_id": self.location_id,
            "known_location": self.location_known,
            "first_level_due": self.first_level_due.isoformat(),
            "second_level_due": self.second_level_due.isoformat(),
            "total_due": self.total_due.isoformat(),
            "contact": dict(self.sla.contact) if self.sla.contact else None,
        }


@lru_cache(maxsize=256)
def level_clock(timezone: str, weekdays_only: bool) -> BusinessCalendar:
    """The calendar a level counts on: every hour, or Mon–Fri hours only, in ``timezone``.
    Internal to the engine (the SLA clock measures operator levels on it)."""
    days = "mon-fri" if weekdays_only else "mon-sun"
    return BusinessCalendar.from_spec(f"operator-{days}-{timezone}", {
        "timezone": timezone, "hours": {days: ["00:00-24:00"]}, "business_day": "24 hours"})


def level_due(start: datetime, level: Level, timezone: str) -> datetime:
    """When ``level`` is due for a clock started at ``start``, in ``timezone``.

    The reference for :class:`_Timing`, which computes the same for every ticket faster.
    """
    if not level.weekdays_only and level.within.unit in ("minutes", "hours"):
        # every hour counts: plain elapsed time, added in UTC
        elapsed = timedelta(microseconds=level.within.microseconds())
        return (start.astimezone(UTC) + elapsed).astimezone(level_clock(timezone, False).tz)
    return level_clock(timezone, level.weekdays_only).add(start, level.counted)


_US = timedelta(microseconds=1)


class _Timing:
    """How the deadlines of one SLA are computed in one time zone, resolved once.

    Both levels on the same clock (weekday time, or plain elapsed time) - the usual SLA - are
    added to ``created_at`` together: level 2 from the 1st-level deadline is level 1 + level 2 from
    ``created_at`` (business positions add up exactly, a closing boundary included), so the start
    is converted and located once.  Anything else goes level by level through :func:`level_due`.
    """

    __slots__ = ("first", "second", "timezone", "mode", "clock", "first_us", "second_us", "window")

    def __init__(self, sla: OperatorSLA, timezone: str) -> None:
        first, second = self.first, self.second = sla.first_level, sla.second_level
        self.timezone = timezone
        self.mode, self.clock, self.first_us, self.second_us = "levels", None, 0, 0
        self.window = None  # see countable
        if first.weekdays_only and second.weekdays_only:
            clock = level_clock(timezone, True)
            # weekday levels count business_* units on that clock
            first_us, second_us = (clock.business_us(level.counted) for level in (first, second))
            if first_us > 0 and second_us > 0:
                self.mode, self.clock, self.first_us, self.second_us = "business", clock, first_us, second_us
        elif not (first.weekdays_only or second.weekdays_only) \
                and {first.within.unit, second.within.unit} <= {"minutes", "hours"}:
            self.mode, self.clock = "elapsed", level_clock(timezone, False)
            self.first_us, self.second_us = first.within.microseconds(), second.within.microseconds()

    def countable(self, created_at: datetime, escalated_at: datetime | None) -> bool:
        """Whether the deadlines can surely be counted from ``created_at`` and ``escalated_at`` (see
        ``sure_years``)."""
        window = self.window
        if window is None:
            window = self.window = sure_years(MIN_YEAR, MAX_YEAR, lambda start: self.deadlines(start, start))
        low, high = window
        return low <= created_at.year <= high and (escalated_at is None or low <= escalated_at.year <= high)

    def deadlines(self, created_at: datetime, escalated_at: datetime | None) -> tuple[datetime, datetime, datetime]:
        """(first-level, second-level, total) deadlines."""
        mode, a, b = self.mode, self.first_us, self.second_us
        if mode == "business":
            add = self.clock.add_business_us
            first, total = add(created_at, epoch_us(created_at), (a, a + b))
            if escalated_at is None:
                return first, total, total
            return first, add(escalated_at, epoch_us(escalated_at), (b,))[0], total
        if mode == "elapsed":
            start, tz = created_at.astimezone(UTC), self.clock.tz
            first, total = (start + a * _US).astimezone(tz), (start + (a + b) * _US).astimezone(tz)
            if escalated_at is None:
                return first, total, total
            return first, (escalated_at.astimezone(UTC) + b * _US).astimezone(tz), total
        first = level_due(created_at, self.first, self.timezone)
        total = level_due(first, self.second, self.timezone)
        second = level_due(escalated_at, self.second, self.timezone) if escalated_at is not None else total
        return first, second, total


_PREPARED_SIZE = 65536


class OperatorBook:
    """All operator SLAs and locations in effect together, with their bindings resolved."""

    def __init__(self, sla_docs: list, location_docs: list) -> None:
        slas: dict[str, OperatorSLA] = {}
        bound_by_sla: dict[str, str] = {}
        for doc in sla_docs:
            spec = doc.spec
            for item in spec["slas"]:
                slas[item["id"]] = OperatorSLA(
                    item["id"], item["name"], item.get("description", ""),
                    Level.from_spec(item["first_level"]), Level.from_spec(item["second_level"]),
                    MappingProxyType(dict(item["contact"])) if item.get("contact") else None,
                    bool(item.get("default", False)), spec["timezone"])
                for loc_id in item.get("locations", ()):
                    bound_by_sla[loc_id] = item["id"]
        locations: dict[str, Location] = {}
        for doc in location_docs:
            for item in doc.spec["locations"]:
                sla = item.get("sla") or bound_by_sla.get(item["id"])
                locations[item["id"]] = Location(item["id"], item["name"], sla, item.get("timezone"))
        self.slas: Mapping[str, OperatorSLA] = MappingProxyType(slas)
        self.locations: Mapping[str, Location] = MappingProxyType(locations)
        self.default: OperatorSLA | None = next((s for s in slas.values() if s.default), None)
        self._prepared: dict[str, tuple] = {}  # location id -> (SLA, known, _Timing)
        self._timings: dict[tuple[str, str], _Timing] = {}  # (SLA id, time zone) -> _Timing

    def sla_for(self, location_id: str) -> tuple[OperatorSLA | None, Location | None]:
        location = self.locations.get(location_id)
        if location is not None and location.sla:
            return self.slas[location.sla], location
        return self.default, location

    def deadlines(self, location_id: str, created_at: datetime, escalated_at: datetime | None = None,
                  count: bool = True) -> OperatorDeadlines | None:
        """The deadlines for a ticket at ``location_id``; None if the set defines no operator SLAs.  Without
        ``count``, the three deadlines are None (but what counting them would raise is raised all the same)."""
        prepared = self._prepared.get(location_id)
        if prepared is None:
            prepared = self._prepare(location_id)
        sla, known, timing = prepared
        if sla is None:
            return None
        if count:
            first, second, total = timing.deadlines(created_at, escalated_at)
        else:
            if not timing.countable(created_at, escalated_at):
                timing.deadlines(created_at, escalated_at)  # raises what counting them raises, if anything
            first = second = total = None
        return OperatorDeadlines(sla, location_id, known, not sla.default, timing.timezone,
                                 first, second, total, escalated_at is not None)

    def _prepare(self, location_id: str) -> tuple:
        """(SLA, location known, timing) of ``location_id``, remembered (bounded: ids come from tickets)."""
        sla, location = self.sla_for(location_id)
        timing = None
        if sla is not None:
            timezone = (location.timezone if location and location.timezone else None) or sla.timezone
            timing = self._timings.get((sla.id, timezone))
            if timing is None:
                timing = self._timings[(sla.id, timezone)] = _Timing(sla, timezone)
        return remember(self._prepared, location_id, (sla, location is not None, timing), _PREPARED_SIZE)

    def locations_of(self, sla_id: str) -> list[Location]:
        """Locations bound to ``sla_id`` (for the default SLA: also those bound to nothing)."""
        sla = self.slas[sla_id]
        return [loc for loc in self.locations.values()
                if loc.sla == sla_id or (sla.default and not loc.sla)]
