"""Operator SLAs per charging location: 1st-level, 2nd-level and total deadlines.

Conventions (the contract, see the README):

* ``within`` is calendar time: ``minutes``/``hours`` are elapsed time, ``days``
  are calendar days keeping the wall-clock time (as in :mod:`engine._duration`).
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

from ._calendar import BusinessCalendar
from ._duration import Duration


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
            "first_level_due": self.first_level_due.isoformat(),
            "second_level_due": self.second_level_due.isoformat(),
            "total_due": self.total_due.isoformat(),
            "contact": dict(self.sla.contact) if self.sla.contact else None,
        }


@lru_cache(maxsize=256)
def _clock(timezone: str, weekdays_only: bool) -> BusinessCalendar:
    """The calendar a level counts on: every hour, or Mon–Fri hours only, in ``timezone``."""
    days = "mon-fri" if weekdays_only else "mon-sun"
    return BusinessCalendar.from_spec(f"operator-{days}-{timezone}", {
        "timezone": timezone, "hours": {days: ["00:00-24:00"]}, "business_day": "24 hours"})


def level_due(start: datetime, level: Level, timezone: str) -> datetime:
    """When ``level`` is due for a clock started at ``start``, in ``timezone``."""
    # _elapsed(level) and _counted(level), remembered on the level: their lru_caches hash the
    # level, which is a Python-level dataclass hash (and this runs up to three times a ticket)
    prepared = level.__dict__.get("_prepared")
    if prepared is None:
        elapsed = _elapsed(level)
        prepared = (elapsed, None if elapsed is not None else _counted(level))
        object.__setattr__(level, "_prepared", prepared)
    elapsed, counted = prepared
    if elapsed is not None:  # every hour counts: plain elapsed time, added in UTC
        clock = _clock(timezone, False)
        return (start.astimezone(UTC) + elapsed).astimezone(clock.tz)
    return _clock(timezone, level.weekdays_only).add(start, counted)


@lru_cache(maxsize=1024)
def _elapsed(level: Level) -> timedelta | None:
    """The level as a timedelta when it is plain elapsed time (minutes/hours, every day)."""
    if level.weekdays_only or level.within.unit not in ("minutes", "hours"):
        return None
    return timedelta(microseconds=level.within.microseconds())


@lru_cache(maxsize=1024)
def _counted(level: Level) -> Duration:
    return level.counted


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

    def sla_for(self, location_id: str) -> tuple[OperatorSLA | None, Location | None]:
        location = self.locations.get(location_id)
        if location is not None and location.sla:
            return self.slas[location.sla], location
        return self.default, location

    def deadlines(self, location_id: str, created_at: datetime,
                  escalated_at: datetime | None = None) -> OperatorDeadlines | None:
        """The deadlines for a ticket at ``location_id``; None if the set defines no operator SLAs."""
        sla, location = self.sla_for(location_id)
        if sla is None:
            return None
        timezone = (location.timezone if location and location.timezone else None) or sla.timezone
        first = level_due(created_at, sla.first_level, timezone)
        total = level_due(first, sla.second_level, timezone)
        second = level_due(escalated_at, sla.second_level, timezone) if escalated_at is not None else total
        return OperatorDeadlines(sla, location_id, location is not None, not sla.default, timezone,
                                 first, second, total, escalated_at is not None)

    def locations_of(self, sla_id: str) -> list[Location]:
        """Locations bound to ``sla_id`` (for the default SLA: also those bound to nothing)."""
        sla = self.slas[sla_id]
        return [loc for loc in self.locations.values()
                if loc.sla == sla_id or (sla.default and not loc.sla)]
