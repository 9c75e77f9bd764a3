"""Holiday dates for a calendar: the ``holidays`` package plus ``include`` minus ``exclude``.

Names come from the ``holidays`` package in ``en_US`` when the country offers
it (so decisions do not depend on the process locale), otherwise in the
country's default language.  Several names on one date are joined with ``"; "``.

Supported years are :data:`MIN_YEAR`..:data:`MAX_YEAR`, narrowed to the years
the ``holidays`` package covers for the country: outside them the package
silently returns no holidays, which would turn holidays into working days.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Mapping

from ..core.errors import CalendarError, Problem
from ..core.suggest import did_you_mean
from ..core.store import Store, package_identity

MIN_YEAR = 1970
MAX_YEAR = 2100
DEFAULT_CATEGORIES = ("public",)


def _package() -> Any:
    """The ``holidays`` package, imported when first needed: what it answers is remembered on disk
    (:data:`STORE`), so most runs never import it."""
    import holidays

    return holidays


# what the package answered, by question
STORE = Store("holidays", lambda: package_identity("holidays", "holidays", "registry.py"))
remembered = STORE.remembered


def _days_json(days: Mapping[date, Any]) -> list[list[str]]:
    """A year's holidays from the package as stored: ``[[iso date, name], ...]`` in its order."""
    return [[day.isoformat(), str(name)] for day, name in days.items()]


def _key(*parts: Any) -> str:
    return json.dumps(parts, ensure_ascii=False)


# the shapes of the stored answers: one that is not (a file edited by hand) is asked of the package again
def _texts(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _country_answer(value: Any) -> bool:
    return type(value) is list and len(value) == 5 and _texts(value[0]) and type(value[1]) is dict \
        and _texts(list(value[1])) and _texts(list(value[1].values())) and _texts(value[2]) \
        and type(value[3]) is int and type(value[4]) is int


def _days_answer(value: Any) -> bool:
    if type(value) is not list:
        return False
    for item in value:
        if type(item) is not list or len(item) != 2 or not _texts(item):
            return False
        try:
            date.fromisoformat(item[0])
        except ValueError:
            return False
    return True


@lru_cache(maxsize=1)
def supported_countries() -> frozenset[str]:
    """The country codes ``holidays`` knows (ISO alpha-2, and aliases such as alpha-3), read from its
    registry: ``list_supported_countries()`` imports every country's module to list subdivisions too,
    which took a third of the command line's start-up (subdivisions come from ``country_info``)."""
    return frozenset(remembered(_key("countries"), lambda: sorted(_country_codes()), _texts))


def _country_codes() -> Any:
    holidays = _package()
    loader = getattr(holidays.registry, "EntityLoader", None)
    if loader is not None and hasattr(loader, "get_country_codes"):
        return loader.get_country_codes(include_aliases=True)
    return holidays.list_supported_countries()


@lru_cache(maxsize=1)
def _country_names() -> Mapping[str, str]:
    """Lower-case English country name -> alpha-2 code, for "did you mean" only."""
    names: dict[str, str] = {}
    for module, entry in getattr(_package().registry, "COUNTRIES", {}).items():
        class_name, alpha2 = entry[0], entry[1]
        names[module.replace("_", " ")] = alpha2
        names[class_name.lower()] = alpha2
        for alias in entry[2:]:
            names[alias.lower()] = alpha2  # alpha-3 codes and class aliases
    return MappingProxyType(names)


def suggest_country(text: str) -> str | None:
    codes = supported_countries()
    names = _country_names()
    upper, lower = str(text).strip().upper(), str(text).strip().lower()
    if lower in names:
        return names[lower]
    if upper in codes:
        return upper
    if len(upper) > 3:  # a misspelt name rather than a code
        match = did_you_mean(lower, names, cutoff=0.75)
        return names[match] if match else None
    match = did_you_mean(upper, codes)
    return names.get(match.lower(), match) if match else None


@lru_cache(maxsize=64)
def country_info(country: str) -> tuple[tuple[str, ...], Mapping[str, str], tuple[str, ...], int, int]:
    """``(subdivisions, subdivision aliases, categories, first year, last year)`` of a country.

    Raises :class:`CalendarError` for an unknown country.
    """
    if country not in supported_countries():
        raise CalendarError(f"unknown holiday country {country!r}")
    subdivisions, aliases, categories, first, last = remembered(_key("country", country),
                                                                lambda: _ask_country(country), _country_answer)
    return tuple(subdivisions), MappingProxyType(dict(aliases)), tuple(categories), first, last


def _ask_country(country: str) -> list:
    probe = _package().country_holidays(country)
    aliases = {str(k): str(v) for k, v in (getattr(probe, "subdivisions_aliases", {}) or {}).items()}
    first = max(MIN_YEAR, int(getattr(probe, "start_year", MIN_YEAR)))
    last = min(MAX_YEAR, int(getattr(probe, "end_year", MAX_YEAR)))
    return [list(probe.subdivisions), aliases, list(probe.supported_categories), first, last]


def read_holiday_country(block: Mapping) -> tuple[tuple[str | None, str | None, tuple[str, ...]], list[Problem]]:
    """``(country, subdivision, categories)`` of a ``holidays`` block, and its problems.

    Problem paths are relative to the block.  ``country`` is None when absent or unknown.
    Suggestions are fields, not shown in the messages (which say what is expected).
    """
    problems: list[Problem] = []
    country = block.get("country")
    subdivision = block.get("subdivision")
    raw_categories = block.get("categories", list(DEFAULT_CATEGORIES))
    categories = tuple(str(c) for c in raw_categories) if isinstance(raw_categories, (list, tuple)) else ()
    if not categories:
        problems.append(Problem("categories must be a non-empty list such as [public]", ("categories",)))
    if country is None:
        if subdivision is not None:
            problems.append(Problem("a subdivision needs a country", ("subdivision",)))
        return (None, None, categories), problems
    if str(country) not in supported_countries():
        problems.append(Problem(
            f"unknown holiday country {country!r} (a 'holidays' package country code such as 'DK')",
            ("country",),
            suggestion=suggest_country(str(country)),
            show_suggestion=False,
        ))
        return (None, None, categories), problems
    country = str(country)
    subdivisions, aliases, supported_categories, _, _ = country_info(country)
    if subdivision is not None and str(subdivision) not in subdivisions and str(subdivision) not in aliases:
        match = did_you_mean(subdivision, list(subdivisions) + list(aliases))
        if not subdivisions:
            known = "it has none"
        elif len(subdivisions) <= 12:
            known = f"one of {', '.join(subdivisions)}"
        else:
            known = f"{len(subdivisions)} subdivisions such as {', '.join(subdivisions[:5])}"
        problems.append(Problem(
            f"unknown subdivision {subdivision!r} for country {country!r} ({known})",
            ("subdivision",),
            suggestion=aliases.get(match, match) if match else None,
            show_suggestion=False,
        ))
    for i, category in enumerate(categories):
        if category not in supported_categories:
            problems.append(Problem(
                f"unknown holiday category {category!r} for country {country!r} "
                f"(supported: {', '.join(sorted(supported_categories))})",
                ("categories", i),
                suggestion=did_you_mean(category, supported_categories),
                show_suggestion=False,
            ))
    return (country, None if subdivision is None else str(subdivision), categories), problems


def _join(names: list[str]) -> str:
    seen: list[str] = []
    for name in names:
        for part in name.split("; "):
            if part and part not in seen:
                seen.append(part)
    return "; ".join(seen)


@dataclass(frozen=True, eq=False)
class HolidaySource:
    """Which dates are holidays, computed once per year and cached (thread-safe)."""

    country: str | None = None
    subdivision: str | None = None
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    include_recurring: Mapping[tuple[int, int], tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    include_once: Mapping[date, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    exclude_recurring: frozenset = frozenset()
    exclude_once: frozenset = frozenset()
    _cache: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def years(self) -> tuple[int, int]:
        """The first and last supported year (inclusive)."""
        if self.country is None:
            return MIN_YEAR, MAX_YEAR
        _, _, _, first, last = country_info(self.country)
        return first, last

    def check_year(self, year: int) -> None:
        first, last = self.years
        if not isinstance(year, int) or isinstance(year, bool) or not first <= year <= last:
            raise CalendarError(f"year {year!r} is outside the supported range {first}-{last}")

    def for_year(self, year: int) -> Mapping[date, str]:
        """Holidays of ``year`` as a read-only mapping sorted by date."""
        found = self._cache.get(year)
        if found is not None:
            return found
        self.check_year(year)
        with self._lock:
            found = self._cache.get(year)
            if found is None:
                found = self._build(year)
                self._cache[year] = found
        return found

    def _build(self, year: int) -> Mapping[date, str]:
        names: dict[date, list[str]] = {}
        if self.country is not None:
            country_info(self.country)  # raises CalendarError for an unknown country
            language = "en_US" if "en_US" in _supported_languages(self.country) else None
            try:
                country_days = remembered(
                    _key("days", self.country, self.subdivision, self.categories, language, year),
                    lambda: _days_json(_package().country_holidays(
                        self.country, subdiv=self.subdivision, years=year, categories=self.categories,
                        language=language)), _days_answer)
            except (NotImplementedError, ValueError, KeyError) as exc:
                raise CalendarError(f"holidays for {self.country!r}: {exc}") from None
            for day, name in country_days:
                names.setdefault(date.fromisoformat(day), []).append(name)
        for (month, day), labels in self.include_recurring.items():
            if month == 2 and day == 29 and not _is_leap(year):
                continue
            names.setdefault(date(year, month, day), []).extend(labels)
        for day, labels in self.include_once.items():
            if day.year == year:
                names.setdefault(day, []).extend(labels)
        for day in list(names):
            if day in self.exclude_once or (day.month, day.day) in self.exclude_recurring:
                del names[day]
        return MappingProxyType({day: _join(names[day]) for day in sorted(names)})


@lru_cache(maxsize=64)
def _supported_languages(country: str) -> tuple[str, ...]:
    return tuple(remembered(_key("languages", country), lambda: list(
        getattr(_package().country_holidays(country), "supported_languages", ()) or ()), _texts))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
