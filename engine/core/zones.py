"""IANA time zone names: validation with suggestions."""
from __future__ import annotations

import zoneinfo
from functools import lru_cache

from .errors import Problem
from .suggest import did_you_mean


@lru_cache(maxsize=None)
def available() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def timezone_problem(name: str, path: tuple = ()) -> Problem | None:
    """A Problem if ``name`` is not a known IANA zone, else None."""
    if name in available():
        return None
    suggestion = did_you_mean(name, available())
    advice = "" if suggestion else "; use an IANA name like 'Europe/Copenhagen'"
    return Problem(f"unknown time zone {name!r}{advice}", path, suggestion=suggestion)
