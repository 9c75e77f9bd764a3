"""IANA time zone names: validation with suggestions; whether a zone's offsets are whole minutes."""
from __future__ import annotations

import hashlib
import os
import zoneinfo
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from .errors import Problem
from .store import Store
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


# ---------------------------------------------------------------------------- offsets
_FIRST, _END, _WEEK = 0, 4_133_980_800, 7 * 86_400  # 1970-01-01 to 2101-01-01 UTC, weekly
_SAMPLED = "weekly 1970-2100"
OFFSETS = Store("zone-offsets", lambda: _SAMPLED)  # verdicts of whole_minute_offsets, by zone file and digest


def _sampled(tz: Any) -> bool:
    for seconds in range(_FIRST, _END, _WEEK):
        offset = datetime.fromtimestamp(seconds, tz).utcoffset()
        if offset is not None and (offset.seconds % 60 or offset.microseconds):
            return False
    return True


def _zone_file(key: str) -> str | None:
    """The file ``ZoneInfo(key)`` loads: the first in ``zoneinfo.TZPATH`` (None: the ``tzdata`` package's)."""
    if not key or key.startswith("/") or ".." in key.split("/"):
        return None
    for folder in zoneinfo.TZPATH:
        path = os.path.join(folder, key)
        if os.path.isfile(path):
            return path
    return None


def whole_minute_offsets(tz: Any) -> bool:
    """Whether every UTC offset of ``tz`` from 1970 to 2100 is whole minutes, sampled weekly (an
    offset with seconds, a local mean time, lasted years: Africa/Monrovia's -00:44:30 until 1972).

    Sampling a zone takes 6,835 conversions (about 50M instructions, 12 ms); the verdict on a
    zone file is remembered on disk (:mod:`engine.core.store`) under the file's digest, so a new
    zone database is sampled again.  A fixed offset is read directly."""
    if tz is None:
        return True
    if isinstance(tz, timezone):
        offset = tz.utcoffset(None)
        return not (offset.seconds % 60 or offset.microseconds)
    path = _zone_file(tz.key) if isinstance(tz, zoneinfo.ZoneInfo) and isinstance(tz.key, str) else None
    if path is None:
        return _sampled(tz)
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return _sampled(tz)
    return OFFSETS.remembered(f"{tz.key}|{digest}", lambda: _sampled(tz), lambda found: type(found) is bool)
