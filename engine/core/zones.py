"""IANA time zone names: validation with suggestions."""
from __future__ import annotations

import zoneinfo
from functools import lru_cache

from .errors import Problem
from .suggest import did_you_mean

# files of the zone database that load but are not zone names (``available_timezones`` leaves them out)
_NOT_NAMES = ("posix/", "right/")


@lru_cache(maxsize=None)
def available() -> frozenset[str]:
    """Every IANA zone name this machine knows.  Reading them opens each file of the zone database
    (about 30 ms): only a name that does not load needs them, for the suggestion."""
    return frozenset(zoneinfo.available_timezones())


@lru_cache(maxsize=256)
def _loads(name: str) -> bool:
    """Whether ``name`` is a zone name that loads (the same verdict as ``name in available()``)."""
    if name == "posixrules" or name.startswith(_NOT_NAMES):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def timezone_problem(name: str, path: tuple = ()) -> Problem | None:
    """A Problem if ``name`` is not a known IANA zone, else None."""
    if type(name) is str and _loads(name) or name in available():
        return None
    suggestion = did_you_mean(name, available())
    advice = "" if suggestion else "; use an IANA name like 'Europe/Copenhagen'"
    return Problem(f"unknown time zone {name!r}{advice}", path, suggestion=suggestion)
