"""Duration strings: ``"<number> <unit>"``, e.g. ``"4 business_hours"``, ``"1.5 hours"``.

Units and their meaning (the contract; a :class:`~engine.calendar.business.BusinessCalendar`
implements it):

``minutes``, ``hours``
    Absolute elapsed time.  ``"2 hours"`` is always 7,200 seconds later, even
    across a DST change (the wall clock may then show 1 or 3 hours later).
``days``
    Calendar days that keep the wall-clock time in the calendar's zone:
    ``"1 days"`` from Sat 12:00 is Sun 12:00 even if Sunday is 23 h long.  A
    result that falls in a DST gap moves forward by the gap (02:30 becomes
    03:30 on the spring-forward night); an ambiguous one takes the first
    occurrence.  The amount must be a whole number.
``business_minutes``, ``business_hours``
    Elapsed time counted only inside the calendar's open intervals.
``business_days``
    ``N`` x the calendar's ``business_day`` (8 h by default for 09:00-17:00),
    counted like ``business_hours``.  It is *not* "the same time N open days
    later": a clock started at Sat 12:00 on a Mon-Fri 09-17 calendar ends at
    the following Friday 17:00 after ``"5 business_days"``.

Amounts are exact (:class:`fractions.Fraction`); they are converted to integer
microseconds, rounding half to even below a microsecond.  Durations are
non-negative unless parsed with ``allow_negative=True``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from ..core.errors import CalendarError, DurationError
from ..core.suggest import did_you_mean

UNITS = ("minutes", "hours", "days", "business_minutes", "business_hours", "business_days")
BUSINESS_UNITS = frozenset({"business_minutes", "business_hours", "business_days"})

#: JSON-Schema-compatible (ECMA 262) pattern for a non-negative duration.
DURATION_PATTERN = r"^[0-9]+(\.[0-9]+)? (" + "|".join(UNITS) + r")$"

_US_PER_UNIT = {
    "minutes": 60_000_000,
    "hours": 3_600_000_000,
    "business_minutes": 60_000_000,
    "business_hours": 3_600_000_000,
}

_STRICT = re.compile(r"^(-?)([0-9]+(?:\.[0-9]+)?) ([a-z_]+)$")
# Something that looks like "<number> <word>" after forgiving common slips
# (extra spaces, no space, a comma decimal, capitals, a space inside the unit).
_LENIENT = re.compile(r"^\s*([-+]?)\s*([0-9]*[.,]?[0-9]+)\s*([A-Za-z][A-Za-z_ \-]*?)\s*$")


def _suggest_unit(word: str) -> str | None:
    key = re.sub(r"[\s\-]+", "_", word.strip().lower())
    if key in UNITS:
        return key
    return did_you_mean(key, UNITS)


def _format_amount(amount: Fraction) -> str:
    if amount.denominator == 1:
        return str(amount.numerator)
    # Finite decimal by construction (checked in __post_init__).
    text = format(Decimal(amount.numerator) / Decimal(amount.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _is_finite_decimal(amount: Fraction) -> bool:
    den = amount.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


@dataclass(frozen=True)
class Duration:
    """An exact, immutable duration: ``amount`` (a :class:`~fractions.Fraction`) of ``unit``.

    ``amount`` may also be given as ``int``, ``str``, :class:`~decimal.Decimal` or
    ``float`` (converted through its shortest ``repr``).  ``str(d)`` is the
    canonical text and ``Duration.parse(str(d), allow_negative=True) == d``.
    """

    amount: Fraction
    unit: str

    def __post_init__(self) -> None:
        raw = self.amount
        if isinstance(raw, bool) or not isinstance(raw, (int, Fraction, Decimal, float, str)):
            raise DurationError(f"duration amount must be a number, not {type(raw).__name__}")
        try:
            amount = Fraction(repr(raw)) if isinstance(raw, float) else Fraction(raw)
        except (ValueError, ZeroDivisionError, OverflowError):
            raise DurationError(f"duration amount {raw!r} is not a finite number") from None
        if not _is_finite_decimal(amount):
            raise DurationError(f"duration amount {raw!r} has no exact decimal form")
        if self.unit not in UNITS:
            unit = self.unit if isinstance(self.unit, str) else repr(self.unit)
            suggestion = _suggest_unit(unit) if isinstance(self.unit, str) else None
            raise DurationError(
                f"unknown duration unit {unit!r} (expected one of {', '.join(UNITS)})", suggestion
            )
        if self.unit == "days" and amount.denominator != 1:
            hours = amount * 24
            hint = f"{_format_amount(hours)} hours" if _is_finite_decimal(hours) else None
            raise DurationError(
                f"'days' must be a whole number (calendar days keep the wall-clock time), got "
                f"{_format_amount(amount)}",
                hint,
            )
        object.__setattr__(self, "amount", amount)
        # Durations key the calendars' caches; hashing a Fraction is slow, two ints are not.
        object.__setattr__(self, "_hash", hash((amount.numerator, amount.denominator, self.unit)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined]

    @classmethod
    def parse(cls, text: str, allow_negative: bool = False) -> "Duration":
        """Parse ``"<number> <unit>"`` (exactly one space, see :data:`DURATION_PATTERN`).

        Raises :class:`DurationError` with a close valid spelling in
        ``suggestion`` when the text almost parses (``'5 buisness_days'`` ->
        ``'5 business_days'``).  A leading ``-`` is accepted only with
        ``allow_negative=True``.
        """
        if isinstance(text, Duration):
            if text.amount < 0 and not allow_negative:
                raise DurationError(f"negative duration {str(text)!r} is not allowed here")
            return text
        if not isinstance(text, str):
            raise DurationError(f"a duration must be a string like '4 business_hours', not {type(text).__name__}")
        if not allow_negative:
            return _parse_non_negative(text)
        return _parse_signed(text)

    @property
    def is_business(self) -> bool:
        """True for ``business_minutes``, ``business_hours`` and ``business_days``."""
        return self.unit in BUSINESS_UNITS

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def microseconds(self, business_day_us: int | None = None) -> int:
        """The signed length in integer microseconds.

        ``business_days`` needs the calendar's business day length in
        microseconds; ``days`` has no fixed length and raises :class:`CalendarError`.
        """
        if self.unit == "days":
            raise CalendarError("'days' are calendar days and have no fixed length in microseconds")
        if self.unit == "business_days":
            if business_day_us is None:
                raise CalendarError("'business_days' needs a calendar's business_day length")
            per_unit = business_day_us
        else:
            per_unit = _US_PER_UNIT[self.unit]
        return round(self.amount * per_unit)

    def __neg__(self) -> "Duration":
        return Duration(-self.amount, self.unit)

    def __abs__(self) -> "Duration":
        return Duration(abs(self.amount), self.unit)

    def __str__(self) -> str:
        return f"{_format_amount(self.amount)} {self.unit}"


def _parse(text: str, allow_negative: bool) -> Duration:
    m = _STRICT.match(text)
    if m and m.group(3) in UNITS:
        sign, number, unit = m.groups()
        if sign and not allow_negative:
            raise DurationError(f"negative duration {text!r} is not allowed here")
        amount = Fraction(number)
        return Duration(-amount if sign else amount, unit)
    raise _explain_failure(text, allow_negative)


def _explain_failure(text: str, allow_negative: bool) -> DurationError:
    expected = f"expected '<number> <unit>' with unit one of {', '.join(UNITS)}"
    m = _LENIENT.match(text)
    if not m:
        return DurationError(f"cannot parse duration {text!r}: {expected}")
    sign, number, word = m.groups()
    number = number.replace(",", ".")
    if number.startswith("."):
        number = "0" + number
    unit = _suggest_unit(word)
    if sign == "-" and not allow_negative and unit is not None:
        return DurationError(f"negative duration {text!r} is not allowed here")
    prefix = "-" if sign == "-" else ""
    suggestion = f"{prefix}{number} {unit}" if unit else None
    if unit and unit == re.sub(r"[\s\-]+", "_", word.strip().lower()) and word != unit:
        return DurationError(f"cannot parse duration {text!r}: write the unit as {unit!r}", suggestion)
    if unit and word == unit:
        return DurationError(f"cannot parse duration {text!r}: {expected}", suggestion)
    return DurationError(f"unknown duration unit {word!r} in {text!r} ({expected})", suggestion)


@lru_cache(maxsize=4096)
def _parse_non_negative(text: str) -> Duration:
    return _parse(text, False)


@lru_cache(maxsize=4096)
def _parse_signed(text: str) -> Duration:
    return _parse(text, True)
