"""Duration strings: parsing, canonical text, errors with suggestions."""
from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import jsonschema
import pytest

from engine.calendar.duration import DURATION_PATTERN, UNITS, Duration
from engine.core.errors import CalendarError, DurationError

UNIT_LIST = "minutes, hours, days, business_minutes, business_hours, business_days"


@pytest.mark.parametrize(
    "text, amount, unit",
    [
        ("5 business_days", Fraction(5), "business_days"),
        ("1.5 business_hours", Fraction(3, 2), "business_hours"),
        ("0 business_minutes", Fraction(0), "business_minutes"),
        ("90 minutes", Fraction(90), "minutes"),
        ("0.25 hours", Fraction(1, 4), "hours"),
        ("3 days", Fraction(3), "days"),
        ("007 hours", Fraction(7), "hours"),
        ("2.50 hours", Fraction(5, 2), "hours"),
    ],
)
def test_parse(text, amount, unit):
    d = Duration.parse(text)
    assert (d.amount, d.unit) == (amount, unit)
    assert isinstance(d.amount, Fraction)
    assert Duration.parse(str(d)) == d
    assert d.is_business == unit.startswith("business_")


@pytest.mark.parametrize(
    "duration, text",
    [
        (Duration(Fraction(3, 2), "hours"), "1.5 hours"),
        (Duration(5, "business_days"), "5 business_days"),
        (Duration(Decimal("2.50"), "minutes"), "2.5 minutes"),
        (Duration("0.125", "business_hours"), "0.125 business_hours"),
        (Duration(1.1, "minutes"), "1.1 minutes"),
        (Duration(-2, "business_hours"), "-2 business_hours"),
    ],
)
def test_str_is_canonical_and_round_trips(duration, text):
    assert str(duration) == text
    assert Duration.parse(text, allow_negative=True) == duration


def test_negative_needs_allow_negative():
    d = Duration.parse("-1.5 business_hours", allow_negative=True)
    assert d.amount == Fraction(-3, 2) and d.is_negative
    assert -d == Duration.parse("1.5 business_hours") == abs(d)
    with pytest.raises(DurationError) as exc:
        Duration.parse("-5 business_days")
    assert str(exc.value) == "negative duration '-5 business_days' is not allowed here"
    assert exc.value.suggestion is None
    with pytest.raises(DurationError, match="negative duration '-2 hours' is not allowed here"):
        Duration.parse(Duration(-2, "hours"))


@pytest.mark.parametrize(
    "text, message, suggestion",
    [
        ("5 buisness_days", f"unknown duration unit 'buisness_days' in '5 buisness_days' (expected '<number> <unit>' with unit one of {UNIT_LIST})", "5 business_days"),
        ("1 business_hour", f"unknown duration unit 'business_hour' in '1 business_hour' (expected '<number> <unit>' with unit one of {UNIT_LIST})", "1 business_hours"),
        ("5 hrs", f"unknown duration unit 'hrs' in '5 hrs' (expected '<number> <unit>' with unit one of {UNIT_LIST})", "5 hours"),
        ("5 fortnights", f"unknown duration unit 'fortnights' in '5 fortnights' (expected '<number> <unit>' with unit one of {UNIT_LIST})", None),
        ("5business_days", f"cannot parse duration '5business_days': expected '<number> <unit>' with unit one of {UNIT_LIST}", "5 business_days"),
        ("5  business_days", f"cannot parse duration '5  business_days': expected '<number> <unit>' with unit one of {UNIT_LIST}", "5 business_days"),
        ("1,5 hours", f"cannot parse duration '1,5 hours': expected '<number> <unit>' with unit one of {UNIT_LIST}", "1.5 hours"),
        ("5 Business_Days", "cannot parse duration '5 Business_Days': write the unit as 'business_days'", "5 business_days"),
        ("5 business hours", "cannot parse duration '5 business hours': write the unit as 'business_hours'", "5 business_hours"),
        ("abc", f"cannot parse duration 'abc': expected '<number> <unit>' with unit one of {UNIT_LIST}", None),
        ("", f"cannot parse duration '': expected '<number> <unit>' with unit one of {UNIT_LIST}", None),
        ("1.5 days", "'days' must be a whole number (calendar days keep the wall-clock time), got 1.5", "36 hours"),
    ],
)
def test_parse_errors_carry_suggestions(text, message, suggestion):
    with pytest.raises(DurationError) as exc:
        Duration.parse(text)
    assert exc.value.suggestion == suggestion
    expected = message + (f"; did you mean {suggestion!r}?" if suggestion else "")
    assert str(exc.value) == expected
    assert isinstance(exc.value, CalendarError) and isinstance(exc.value, ValueError)


@pytest.mark.parametrize("value", [5, None, ["5 hours"], 1.5])
def test_parse_rejects_non_strings(value):
    with pytest.raises(DurationError, match="a duration must be a string like '4 business_hours'"):
        Duration.parse(value)


@pytest.mark.parametrize(
    "amount, unit, message",
    [
        (Fraction(1, 3), "hours", "has no exact decimal form"),
        ("x", "hours", "is not a finite number"),
        (True, "hours", "must be a number, not bool"),
        (float("nan"), "hours", "is not a finite number"),
        (1, "weeks", "unknown duration unit 'weeks'"),
        (1, "business_hour", "did you mean 'business_hours'"),
    ],
)
def test_constructor_validates(amount, unit, message):
    with pytest.raises(DurationError, match=re.escape(message)):
        Duration(amount, unit)


def test_microseconds():
    assert Duration.parse("1.5 business_hours").microseconds() == 5_400_000_000
    assert Duration.parse("2 minutes").microseconds() == 120_000_000
    assert Duration.parse("2 business_days").microseconds(8 * 3_600_000_000) == 16 * 3_600_000_000
    assert Duration(Fraction(1, 2_000_000), "minutes").microseconds() == 30  # exact
    assert Duration("0.0000000000125", "hours").microseconds() == 0  # half to even below 1 µs
    with pytest.raises(CalendarError, match="'business_days' needs a calendar's business_day length"):
        Duration.parse("1 business_days").microseconds()
    with pytest.raises(CalendarError, match="'days' are calendar days"):
        Duration.parse("1 days").microseconds()


def test_pattern_is_json_schema_compatible():
    schema = {"type": "string", "pattern": DURATION_PATTERN}
    for good in ("5 business_days", "1.5 business_hours", "0 minutes", "10 days"):
        jsonschema.validate(good, schema)
        assert re.match(DURATION_PATTERN, good)
    for bad in ("-5 hours", "5  hours", "5hours", "1.5", ".5 hours", "5. hours", "5 weeks", "5 hours ", "1e3 hours"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    # Every unit is accepted and the pattern parses the same strings as Duration.parse.
    for unit in UNITS:
        assert Duration.parse(f"2 {unit}").unit == unit
        assert re.match(DURATION_PATTERN, f"2 {unit}")


def test_parse_is_cached_and_immutable():
    a, b = Duration.parse("4 business_hours"), Duration.parse("4 business_hours")
    assert a is b
    with pytest.raises(AttributeError):
        a.amount = 5  # type: ignore[misc]
