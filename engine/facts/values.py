"""Ticket values: RFC 3339 datetimes, and values described for messages.

Conventions
-----------
* Datetimes are RFC 3339 strings **with** an offset (``Z`` or ``+hh:mm``); the
  date/time separator may be ``T``, ``t`` or a space, seconds are required and
  fractions are truncated to microseconds.
* ``bool`` is never a number: :func:`is_integer` and :func:`is_finite_number`
  say no to ``True``.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime

_fromisoformat = datetime.fromisoformat
# characters 4, 7, 10, 13, 16, 19 and 22 of the common form 2024-04-02T09:30:00+02:00
_SEPARATORS = frozenset(f"--{t}::{sign}:" for t in "Tt " for sign in "+-")

_RFC3339_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?$"
)


def json_type(value: object) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, datetime):
        return "datetime"
    return type(value).__name__


def describe(value: object) -> str:
    """``string '12'``, ``boolean true``, ``null``, ``array`` ... for messages."""
    kind = json_type(value)
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"string {text!r}"
    if isinstance(value, (int, float)):
        return f"{kind} {value!r}"
    return kind


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 date-time with offset; ``ValueError`` with a clear message otherwise."""
    if type(text) is str and len(text) == 25 and text[4:23:3] in _SEPARATORS and text[23] < "6":
        # The common form, 2024-04-02T09:30:00+02:00, without the regex (its cost dominated parsing).
        # With these separators (characters 4, 7, 10, 13, 16, 19 and 22, read as one slice),
        # fromisoformat succeeds only if every other character is an ASCII digit, i.e. only where
        # the regex below would match and return fromisoformat(text) too.
        try:
            return _fromisoformat(text)
        except ValueError:
            pass  # the full path below gives the message
    m = _RFC3339_RE.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not an RFC 3339 datetime (e.g. 2024-04-02T09:30:00+02:00)")
    date, clock, frac, offset = m.groups()
    if offset is None:
        raise ValueError(f"{text!r} has no UTC offset; add 'Z' or ±hh:mm (e.g. 2024-04-02T09:30:00+02:00)")
    if offset not in "Zz" and (int(offset[1:3]) > 23 or int(offset[4:6]) > 59):
        # fromisoformat would say "offset must be a timedelta strictly between -timedelta(hours=24) ..."
        # for +24:00, and read +01:60 as +02:00
        raise ValueError(f"{text!r} has UTC offset {offset}, outside -23:59 to +23:59")
    if frac is None and offset != "z":  # the common form: fromisoformat reads it as is
        try:
            return datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid datetime: {exc}") from None
    iso = f"{date}T{clock}"
    if frac:
        iso += "." + frac[:6].ljust(6, "0")
    iso += "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(iso)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid datetime: {exc}") from None



def is_integer(value: object) -> bool:
    """An ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value: object) -> bool:
    """An ``int`` or finite ``float`` that is not a ``bool``."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and not (isinstance(value, float) and not math.isfinite(value)))
