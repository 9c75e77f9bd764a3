"""BusinessCalendar: table-driven business-time arithmetic, holidays, DST, errors.

Expected instants are written as ISO strings with their UTC offset: comparing
aware datetimes that share a tzinfo compares wall clocks and ignores ``fold``.
"""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from engine.calendar.business import HORIZON_YEARS, BusinessCalendar
from engine.calendar.duration import Duration
from engine.core.errors import CalendarError, DurationError

CPH = ZoneInfo("Europe/Copenhagen")

# The shipped calendars, as the lead's YAML specs.
PARTNER_SUPPORT = {
    "timezone": "Europe/Copenhagen",
    "hours": {"mon-fri": ["09:00-17:00"]},
    "holidays": {
        "country": "DK",
        "categories": ["public"],
        "include": [
            {"date": "12-24", "name": "Christmas Eve"},
            {"date": "12-31", "name": "New Year's Eve"},
        ],
    },
}
ALWAYS_OPEN = {"timezone": "Europe/Copenhagen", "hours": {"mon-sun": ["00:00-24:00"]}, "business_day": "24 hours"}
BUSINESS_PORTAL = {"timezone": "Europe/Copenhagen", "hours": {"mon-sun": ["07:00-23:00"]}}
INSTALLERS = {
    "timezone": "Europe/Copenhagen",
    "hours": {"mon-fri": ["09:00-17:00"]},
    "holidays": {"country": "DK", "categories": ["public"]},
}
# Split intervals, a Saturday, special hours (a half day, a closed day, a holiday
# opened) and Sunday intervals that a DST change cuts into.
SPLIT_SPECIAL = {
    "timezone": "Europe/Copenhagen",
    "hours": {
        "mon-fri": ["08:00-12:00", "13:00-17:30"],
        "sat": ["10:00-14:00"],
        "sun": ["01:00-02:30", "02:45-04:00"],
    },
    "holidays": {"country": "DK", "include": [{"date": "12-24", "name": "Christmas Eve"}]},
    "special_hours": [
        {"date": "2024-12-23", "hours": ["09:00-12:00"], "name": "Half day"},
        {"date": "2024-12-24", "hours": ["10:00-11:00"], "name": "Skeleton crew"},
        {"date": "2025-06-06", "hours": [], "name": "Office move"},
        {"date": "2026-03-29", "hours": ["00:00-24:00"], "name": "DST drill"},
    ],
    "business_day": "7.5 hours",
}
SPECS = {
    "partner-support": PARTNER_SUPPORT,
    "always-open": ALWAYS_OPEN,
    "business-portal": BUSINESS_PORTAL,
    "installers": INSTALLERS,
    "split-special": SPLIT_SPECIAL,
}


def test_specs_match_the_shipped_calendars():
    path = Path(__file__).resolve().parent.parent / "policies" / "calendars.yaml"
    if not path.exists():
        pytest.skip("no shipped calendars yet")
    shipped = {d["metadata"]["name"]: d["spec"] for d in yaml.safe_load_all(path.read_text())
               if d and d.get("kind") == "BusinessCalendar"}
    for name in ("partner-support", "always-open", "business-portal", "installers"):
        assert shipped.get(name) == SPECS[name], name


@pytest.fixture(scope="module")
def cals() -> dict[str, BusinessCalendar]:
    return {name: BusinessCalendar.from_spec(name, spec) for name, spec in SPECS.items()}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def iso(t: datetime) -> str:
    assert t.tzinfo is CPH
    return t.isoformat()


# -- add ---------------------------------------------------------------------------
ADD_CASES = [
    # The seed's Easter 2024: Thu 28, Fri 29 and Mon 1 are holidays; DST starts Sun 31.
    ("partner-support", "2024-03-27T16:00+01:00", "4 business_hours", "2024-04-02T12:00:00+02:00"),
    ("partner-support", "2024-03-27T16:00+01:00", "5 business_days", "2024-04-08T16:00:00+02:00"),
    ("partner-support", "2024-03-27T16:00+01:00", "2 business_hours", "2024-04-02T10:00:00+02:00"),
    # A deadline exactly at closing is that closing time, not the next opening.
    ("partner-support", "2024-03-27T16:00+01:00", "1 business_hours", "2024-03-27T17:00:00+01:00"),
    ("partner-support", "2024-03-27T16:00+01:00", "60 business_minutes", "2024-03-27T17:00:00+01:00"),
    ("partner-support", "2024-04-03T09:00+02:00", "1 business_days", "2024-04-03T17:00:00+02:00"),
    ("partner-support", "2024-04-05T12:00+02:00", "5 business_hours", "2024-04-05T17:00:00+02:00"),  # Fri 17:00, not Mon 09:00
    # Starts before opening, after closing, on a holiday, at opening, at closing, on a weekend.
    ("partner-support", "2024-04-03T07:00+02:00", "1 business_hours", "2024-04-03T10:00:00+02:00"),
    ("partner-support", "2024-04-03T18:00+02:00", "1 business_hours", "2024-04-04T10:00:00+02:00"),
    ("partner-support", "2024-03-28T10:00+01:00", "1 business_hours", "2024-04-02T10:00:00+02:00"),
    ("partner-support", "2024-04-03T09:00+02:00", "8 business_hours", "2024-04-03T17:00:00+02:00"),
    ("partner-support", "2024-04-03T17:00+02:00", "1 business_hours", "2024-04-04T10:00:00+02:00"),
    ("partner-support", "2024-04-06T12:00+02:00", "1 business_days", "2024-04-08T17:00:00+02:00"),
    ("partner-support", "2024-04-03T10:15:30.5+02:00", "1.5 business_hours", "2024-04-03T11:45:30.500000+02:00"),
    # Ascension (Thu May 9) and Whit Monday (May 20).
    ("partner-support", "2024-05-08T16:00+02:00", "2 business_hours", "2024-05-10T10:00:00+02:00"),
    ("partner-support", "2024-05-17T16:30+02:00", "1 business_hours", "2024-05-21T09:30:00+02:00"),
    # Christmas and New Year 2024/25: Dec 24, 25, 26, 31 and Jan 1 are closed.
    ("partner-support", "2024-12-23T16:00+01:00", "2 business_hours", "2024-12-27T10:00:00+01:00"),
    ("partner-support", "2024-12-30T16:00+01:00", "2 business_hours", "2025-01-02T10:00:00+01:00"),
    ("partner-support", "2024-12-20T12:00+01:00", "3 business_days", "2024-12-30T12:00:00+01:00"),
    # New Year's Day is closed every year, 2024 included (Dec 31 2023 is a Sunday).
    ("partner-support", "2023-12-29T16:00+01:00", "2 business_hours", "2024-01-02T10:00:00+01:00"),
    # 2024 has 252 business days on this calendar.
    ("partner-support", "2024-01-01T09:00+01:00", "252 business_days", "2024-12-30T17:00:00+01:00"),
    # Friday -> Monday across the autumn DST change.
    ("partner-support", "2024-10-25T16:00+02:00", "2 business_hours", "2024-10-28T10:00:00+01:00"),
    # Another zone in, the calendar zone out.
    ("partner-support", "2024-03-27T15:00+00:00", "4 business_hours", "2024-04-02T12:00:00+02:00"),
    # Zero leaves the start alone, even when closed.
    ("partner-support", "2024-04-06T12:00+02:00", "0 business_hours", "2024-04-06T12:00:00+02:00"),
    # installers: DK public holidays without Dec 24/31, and with Jan 1 2024.
    ("installers", "2024-12-23T16:00+01:00", "2 business_hours", "2024-12-24T10:00:00+01:00"),
    ("installers", "2023-12-29T16:00+01:00", "2 business_hours", "2024-01-02T10:00:00+01:00"),
    # 24/7 across both DST changes: business time is elapsed time.
    ("always-open", "2024-03-30T12:00+01:00", "1 business_days", "2024-03-31T13:00:00+02:00"),
    ("always-open", "2024-03-31T00:00+01:00", "23 business_hours", "2024-04-01T00:00:00+02:00"),
    ("always-open", "2024-10-27T00:00+02:00", "25 business_hours", "2024-10-28T00:00:00+01:00"),
    ("always-open", "2024-10-27T01:30+02:00", "1 business_hours", "2024-10-27T02:30:00+02:00"),
    ("always-open", "2024-10-27T01:30+02:00", "2 business_hours", "2024-10-27T02:30:00+01:00"),
    # Calendar units on 24/7.
    ("always-open", "2024-03-30T12:00+01:00", "1 days", "2024-03-31T12:00:00+02:00"),
    ("always-open", "2024-03-30T02:30+01:00", "1 days", "2024-03-31T03:30:00+02:00"),  # DST gap: forward
    ("always-open", "2024-10-26T02:30+02:00", "1 days", "2024-10-27T02:30:00+02:00"),  # ambiguous: first
    ("always-open", "2024-10-27T02:30+01:00", "1 days", "2024-10-28T02:30:00+01:00"),
    ("always-open", "2024-10-27T02:30+01:00", "0 days", "2024-10-27T02:30:00+01:00"),  # stays the second 02:30
    ("always-open", "2024-03-31T01:30+01:00", "1 hours", "2024-03-31T03:30:00+02:00"),
    ("always-open", "2024-10-27T01:30+02:00", "90 minutes", "2024-10-27T02:00:00+01:00"),
    # Portal 07:00-23:00: the wall-clock hours stay as written across DST.
    ("business-portal", "2024-03-30T22:00+01:00", "2 business_hours", "2024-03-31T08:00:00+02:00"),
    ("business-portal", "2024-10-26T22:30+02:00", "1 business_hours", "2024-10-27T07:30:00+01:00"),
    ("business-portal", "2024-10-27T07:00+01:00", "1 business_days", "2024-10-27T23:00:00+01:00"),
    ("business-portal", "2024-03-31T03:00+02:00", "16 business_hours", "2024-03-31T23:00:00+02:00"),
    # Split intervals and special hours.
    ("split-special", "2024-04-08T11:30+02:00", "1 business_hours", "2024-04-08T13:30:00+02:00"),
    ("split-special", "2024-04-08T12:00+02:00", "30 business_minutes", "2024-04-08T13:30:00+02:00"),
    ("split-special", "2024-04-08T11:00+02:00", "1 business_hours", "2024-04-08T12:00:00+02:00"),
    ("split-special", "2024-12-20T17:00+01:00", "5 business_hours", "2024-12-22T01:30:00+01:00"),  # Fri, Sat, Sun
    ("split-special", "2024-12-23T11:00+01:00", "2 business_hours", "2024-12-24T11:00:00+01:00"),  # special > holiday
    ("split-special", "2024-12-23T11:00+01:00", "3 business_hours", "2024-12-27T09:00:00+01:00"),
    ("split-special", "2025-06-05T17:00+02:00", "1 business_hours", "2025-06-07T10:30:00+02:00"),  # Jun 6 closed
    ("split-special", "2025-03-30T00:30+01:00", "1.75 business_hours", "2025-03-30T04:00:00+02:00"),  # DST night
    ("split-special", "2025-03-30T00:30+01:00", "2 business_hours", "2025-03-31T08:15:00+02:00"),
]


@pytest.mark.parametrize("calendar, start, duration, expected", ADD_CASES)
def test_add(cals, calendar, start, duration, expected):
    cal = cals[calendar]
    result = cal.add(at(start), duration)
    assert iso(result) == expected
    if Duration.parse(duration).is_business and Duration.parse(duration).amount > 0:
        assert cal.between(at(start), result) == _business(cal, duration)
        assert iso(cal.subtract(result, duration)) == iso(cal.next_open(at(start)))


def _business(cal: BusinessCalendar, duration: str) -> timedelta:
    return timedelta(microseconds=Duration.parse(duration).microseconds(cal.business_day // timedelta(microseconds=1)))


SUBTRACT_CASES = [
    ("partner-support", "2024-04-02T12:00+02:00", "4 business_hours", "2024-03-27T16:00:00+01:00"),
    ("partner-support", "2024-04-08T16:00+02:00", "5 business_days", "2024-03-27T16:00:00+01:00"),
    ("partner-support", "2024-04-02T09:00+02:00", "1 business_hours", "2024-03-27T16:00:00+01:00"),
    # Back to the opening, not to the previous evening (the pandas behaviour).
    ("partner-support", "2024-04-02T10:00+02:00", "1 business_hours", "2024-04-02T09:00:00+02:00"),
    ("partner-support", "2024-04-03T09:00+02:00", "8 business_hours", "2024-04-02T09:00:00+02:00"),
    ("partner-support", "2024-03-27T17:00+01:00", "8 business_hours", "2024-03-27T09:00:00+01:00"),
    ("partner-support", "2024-04-07T12:00+02:00", "1 business_hours", "2024-04-05T16:00:00+02:00"),
    ("partner-support", "2025-01-02T10:00+01:00", "2 business_hours", "2024-12-30T16:00:00+01:00"),
    ("partner-support", "2024-04-07T12:00+02:00", "0 business_hours", "2024-04-07T12:00:00+02:00"),
    ("always-open", "2024-04-01T00:00+02:00", "1 business_days", "2024-03-30T23:00:00+01:00"),
    ("always-open", "2024-03-31T12:00+02:00", "1 days", "2024-03-30T12:00:00+01:00"),
    ("always-open", "2024-03-31T04:00+02:00", "3 hours", "2024-03-31T00:00:00+01:00"),
]


@pytest.mark.parametrize("calendar, end, duration, expected", SUBTRACT_CASES)
def test_subtract(cals, calendar, end, duration, expected):
    assert iso(cals[calendar].subtract(at(end), duration)) == expected


BETWEEN_CASES = [
    ("partner-support", "2024-03-27T16:00+01:00", "2024-04-02T12:00+02:00", timedelta(hours=4)),
    ("partner-support", "2024-10-25T17:00+02:00", "2024-10-28T09:00+01:00", timedelta(0)),
    ("partner-support", "2024-10-25T16:00+02:00", "2024-10-28T10:00+01:00", timedelta(hours=2)),
    ("partner-support", "2024-01-01T00:00+01:00", "2025-01-01T00:00+01:00", timedelta(hours=252 * 8)),
    ("partner-support", "2024-12-30T16:00+01:00", "2025-01-02T10:00+01:00", timedelta(hours=2)),
    ("partner-support", "2023-06-01T00:00+02:00", "2026-06-01T00:00+02:00", None),  # additivity below
    ("always-open", "2024-03-31T00:00+01:00", "2024-04-01T00:00+02:00", timedelta(hours=23)),
    ("always-open", "2024-10-27T00:00+02:00", "2024-10-28T00:00+01:00", timedelta(hours=25)),
    ("business-portal", "2024-03-30T07:00+01:00", "2024-03-31T23:00+02:00", timedelta(hours=32)),
    ("business-portal", "2024-10-26T07:00+02:00", "2024-10-27T23:00+01:00", timedelta(hours=32)),
    ("split-special", "2025-03-30T00:00+01:00", "2025-03-31T00:00+02:00", timedelta(hours=1, minutes=45)),
    ("split-special", "2024-03-31T00:00+01:00", "2024-04-01T00:00+02:00", timedelta(0)),  # Easter Sunday
    ("split-special", "2024-10-27T00:00+02:00", "2024-10-28T00:00+01:00", timedelta(hours=3, minutes=45)),
    ("split-special", "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00", timedelta(hours=23)),
]


@pytest.mark.parametrize("calendar, a, b, expected", BETWEEN_CASES)
def test_between(cals, calendar, a, b, expected):
    cal = cals[calendar]
    forward = cal.between(at(a), at(b))
    if expected is not None:
        assert forward == expected
    assert cal.between(at(b), at(a)) == -forward
    middle = at(a) + (at(b) - at(a)) / 3
    assert cal.between(at(a), middle) + cal.between(middle, at(b)) == forward


@pytest.mark.parametrize(
    "calendar, t, is_open, next_open",
    [
        ("partner-support", "2024-04-03T09:00+02:00", True, "2024-04-03T09:00:00+02:00"),
        ("partner-support", "2024-04-03T16:59:59.999999+02:00", True, "2024-04-03T16:59:59.999999+02:00"),
        ("partner-support", "2024-04-03T17:00+02:00", False, "2024-04-04T09:00:00+02:00"),
        ("partner-support", "2024-04-03T08:59:59.999999+02:00", False, "2024-04-03T09:00:00+02:00"),
        ("partner-support", "2024-03-28T10:00+01:00", False, "2024-04-02T09:00:00+02:00"),
        ("partner-support", "2024-01-01T10:00+01:00", False, "2024-01-02T09:00:00+01:00"),
        ("partner-support", "2025-01-01T10:00+01:00", False, "2025-01-02T09:00:00+01:00"),
        ("partner-support", "2024-12-31T23:00+00:00", False, "2025-01-02T09:00:00+01:00"),
        ("always-open", "2024-03-31T02:00+01:00", True, "2024-03-31T03:00:00+02:00"),
        ("business-portal", "2024-03-31T06:59+02:00", False, "2024-03-31T07:00:00+02:00"),
        ("split-special", "2024-12-24T10:30+01:00", True, "2024-12-24T10:30:00+01:00"),  # special beats holiday
        ("split-special", "2025-06-06T10:00+02:00", False, "2025-06-07T10:00:00+02:00"),  # special: closed
        ("split-special", "2025-03-30T03:40+02:00", False, "2025-03-30T03:45:00+02:00"),  # 02:45 in the gap
        ("split-special", "2025-03-30T03:15+02:00", True, "2025-03-30T03:15:00+02:00"),  # 02:30 moved to 03:30
    ],
)
def test_is_open_and_next_open(cals, calendar, t, is_open, next_open):
    cal = cals[calendar]
    assert cal.is_open(at(t)) is is_open
    assert iso(cal.next_open(at(t))) == next_open


# -- holidays -----------------------------------------------------------------------
def test_partner_support_holidays_are_the_seed_list(cals):
    cal = cals["partner-support"]
    weekday_holidays = {d: n for d, n in cal.holidays(2024).items() if d.weekday() < 5}
    assert weekday_holidays == {
        date(2024, 1, 1): "New Year's Day",  # before the seed's list was published; closed every year
        date(2024, 3, 28): "Maundy Thursday",
        date(2024, 3, 29): "Good Friday",
        date(2024, 4, 1): "Easter Monday",
        date(2024, 5, 9): "Ascension Day",
        date(2024, 5, 20): "Pentecost Monday",
        date(2024, 12, 24): "Christmas Eve",
        date(2024, 12, 25): "Christmas Day",
        date(2024, 12, 26): "Second Day of Christmas",
        date(2024, 12, 31): "New Year's Eve",
    }
    assert list(cal.holidays(2025).items())[0] == (date(2025, 1, 1), "New Year's Day")
    assert date(2024, 6, 5) not in cal.holidays(2024)  # Constitution Day is not a public holiday
    assert "Great Prayer Day" not in cal.holidays(2024).values()  # abolished from 2024
    assert cal.holidays(2023)[date(2023, 5, 5)] == "Great Prayer Day"
    holidays_2024 = cal.holidays(2024)
    assert list(holidays_2024) == sorted(holidays_2024)


def test_holidays_join_names_and_apply_includes_and_excludes():
    cal = BusinessCalendar.from_spec(
        "x",
        {
            "timezone": "Europe/Copenhagen",
            "hours": {"mon-fri": ["09:00-17:00"]},
            "holidays": {
                "country": "DK",
                "include": [
                    {"date": "12-25", "name": "Company day"},
                    {"date": "02-29", "name": "Leap day"},
                    {"date": "2024-06-07", "name": "Summer party"},
                ],
                "exclude": [{"date": "05-20"}, {"date": "2024-03-29"}],
            },
        },
    )
    h24, h25 = cal.holidays(2024), cal.holidays(2025)
    assert h24[date(2024, 12, 25)] == "Christmas Day; Company day"
    assert h24[date(2024, 2, 29)] == "Leap day" and date(2025, 2, 28) not in h25
    assert h24[date(2024, 6, 7)] == "Summer party" and date(2025, 6, 7) not in h25
    assert date(2024, 3, 29) not in h24 and date(2025, 4, 18) in h25  # one-off exclude
    assert date(2024, 5, 20) not in h24  # recurring exclude


def test_holidays_returns_a_copy(cals):
    cal = cals["partner-support"]
    cal.holidays(2024).clear()
    assert len(cal.holidays(2024)) > 0


@pytest.mark.parametrize("year", [1969, 2101, "2024", 2024.0, True])
def test_holiday_year_out_of_range(cals, year):
    with pytest.raises(CalendarError) as exc:
        cals["partner-support"].holidays(year)
    assert str(exc.value) == f"calendar 'partner-support': year {year!r} is outside the supported years 1970-2100"


def test_arithmetic_beyond_the_supported_years_raises(cals):
    with pytest.raises(CalendarError, match="year 2101 is outside the supported years 1970-2100"):
        cals["partner-support"].add(at("2100-12-31T16:00+01:00"), "2 business_hours")
    with pytest.raises(CalendarError, match="year 1969 is outside"):
        cals["always-open"].is_open(at("1969-12-31T12:00+00:00"))


# -- DST ------------------------------------------------------------------------------
def test_open_intervals_follow_the_wall_clock(cals):
    always, split = cals["always-open"], cals["split-special"]
    [(s, e)] = always.open_intervals(date(2024, 3, 31))
    assert (iso(s), iso(e)) == ("2024-03-31T00:00:00+01:00", "2024-04-01T00:00:00+02:00")
    assert e - s == timedelta(hours=24)  # wall clock; the elapsed time is 23 h:
    assert e.astimezone(timezone.utc) - s.astimezone(timezone.utc) == timedelta(hours=23)
    # 01:00-02:30 and 02:45-04:00 on the spring-forward night: the boundaries in the
    # gap move forward by the gap.
    assert [(iso(s), iso(e)) for s, e in split.open_intervals(date(2025, 3, 30))] == [
        ("2025-03-30T01:00:00+01:00", "2025-03-30T03:30:00+02:00"),
        ("2025-03-30T03:45:00+02:00", "2025-03-30T04:00:00+02:00"),
    ]
    # ... and on the fall-back night the ambiguous 02:30 and 02:45 are the first ones.
    assert [(iso(s), iso(e)) for s, e in split.open_intervals(date(2024, 10, 27))] == [
        ("2024-10-27T01:00:00+02:00", "2024-10-27T02:30:00+02:00"),
        ("2024-10-27T02:45:00+02:00", "2024-10-27T04:00:00+01:00"),
    ]
    assert cals["partner-support"].open_intervals(date(2024, 3, 28)) == []


def test_a_boundary_inside_the_gap_moves_forward():
    cal = BusinessCalendar.from_spec("gap", {"timezone": "Europe/Copenhagen", "hours": {"sun": ["02:30-05:00"]}})
    [(s, e)] = cal.open_intervals(date(2024, 3, 31))
    assert (iso(s), iso(e)) == ("2024-03-31T03:30:00+02:00", "2024-03-31T05:00:00+02:00")
    assert cal.between(at("2024-03-31T00:00+01:00"), at("2024-04-01T00:00+02:00")) == timedelta(hours=1.5)
    assert cal.between(at("2024-10-27T00:00+02:00"), at("2024-10-28T00:00+01:00")) == timedelta(hours=3.5)
    # Both boundaries in the gap: the interval moves forward whole.
    inside = BusinessCalendar.from_spec("in-gap", {"timezone": "Europe/Copenhagen", "hours": {"sun": ["02:10-02:50"]}})
    [(s, e)] = inside.open_intervals(date(2024, 3, 31))
    assert (iso(s), iso(e)) == ("2024-03-31T03:10:00+02:00", "2024-03-31T03:50:00+02:00")
    # Opening in the gap and closing at its end: moved forward past its closing, so empty that night.
    empty = BusinessCalendar.from_spec("to-gap-end", {"timezone": "Europe/Copenhagen", "hours": {"sun": ["02:30-03:00"]}})
    assert empty.open_intervals(date(2024, 3, 31)) == []
    assert empty.between(at("2024-03-30T00:00+01:00"), at("2024-04-01T00:00+02:00")) == timedelta(0)
    assert empty.between(at("2024-10-27T00:00+02:00"), at("2024-10-28T00:00+01:00")) == timedelta(minutes=90)


# -- errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: c.add(datetime(2024, 3, 27, 16), "1 business_hours"),
         "start must be timezone-aware, got naive datetime 2024-03-27T16:00:00"),
        (lambda c: c.subtract(datetime(2024, 3, 27, 16), "1 business_hours"),
         "end must be timezone-aware, got naive datetime 2024-03-27T16:00:00"),
        (lambda c: c.between(at("2024-03-27T16:00+01:00"), datetime(2024, 3, 28)),
         "b must be timezone-aware, got naive datetime 2024-03-28T00:00:00"),
        (lambda c: c.between(datetime(2024, 3, 28), at("2024-03-27T16:00+01:00")),
         "a must be timezone-aware, got naive datetime 2024-03-28T00:00:00"),
        (lambda c: c.is_open(datetime(2024, 3, 28)), "t must be timezone-aware, got naive datetime 2024-03-28T00:00:00"),
        (lambda c: c.next_open(datetime(2024, 3, 28)), "t must be timezone-aware, got naive datetime 2024-03-28T00:00:00"),
        (lambda c: c.add("2024-03-27T16:00+01:00", "1 business_hours"), "start must be a datetime, not str"),
        (lambda c: c.add(date(2024, 3, 27), "1 business_hours"), "start must be a datetime, not date"),
        (lambda c: c.open_intervals(at("2024-03-27T16:00+01:00")), "day must be a date, not datetime"),
    ],
)
def test_bad_instants(cals, call, message):
    with pytest.raises(CalendarError) as exc:
        call(cals["partner-support"])
    assert str(exc.value) == message


def test_bad_durations(cals):
    cal, start = cals["partner-support"], at("2024-03-27T16:00+01:00")
    with pytest.raises(DurationError) as exc:
        cal.add(start, "5 buisness_days")
    assert exc.value.suggestion == "5 business_days"
    with pytest.raises(DurationError, match="negative duration '-1 business_hours' is not allowed here"):
        cal.add(start, "-1 business_hours")
    with pytest.raises(DurationError, match="negative duration '-1 business_hours' is not allowed here"):
        cal.subtract(start, "-1 business_hours")
    with pytest.raises(DurationError, match="a duration must be a string like '4 business_hours', not list"):
        cal.add(start, ["1 hours"])
    with pytest.raises(DurationError, match="a duration must be a string like '4 business_hours', not int"):
        cal.add(start, 5)


def test_negative_duration_objects(cals):
    cal, t = cals["partner-support"], at("2024-04-02T12:00+02:00")
    minus4 = Duration.parse("-4 business_hours", allow_negative=True)
    assert iso(cal.add(t, minus4)) == iso(cal.subtract(t, "4 business_hours")) == "2024-03-27T16:00:00+01:00"
    assert iso(cal.subtract(at("2024-03-27T16:00+01:00"), minus4)) == "2024-04-02T12:00:00+02:00"
    assert iso(cal.add(t, Duration(-2, "hours"))) == "2024-04-02T10:00:00+02:00"
    assert iso(cal.add(at("2024-03-31T12:00+02:00"), Duration(-1, "days"))) == "2024-03-30T12:00:00+01:00"


def test_calendar_without_open_time_refuses_quickly():
    closed = BusinessCalendar.from_spec("closed", {"timezone": "Europe/Copenhagen", "hours": {}})
    start = at("2024-03-27T16:00+01:00")
    began = time.perf_counter()
    for duration in ("1 business_hours", "1 business_minutes", "1 business_days", "0 business_hours"):
        with pytest.raises(CalendarError) as exc:
            closed.add(start, duration)
        assert str(exc.value) == "calendar 'closed' has no open time"
    with pytest.raises(CalendarError, match="calendar 'closed' has no open time"):
        closed.subtract(start, "1 business_hours")
    with pytest.raises(CalendarError, match="calendar 'closed' has no open time"):
        closed.next_open(start)
    assert time.perf_counter() - began < 0.5
    assert closed.between(start, start + timedelta(days=400)) == timedelta(0)
    assert closed.is_open(start) is False
    assert closed.business_day == timedelta(0)
    assert iso(closed.add(start, "2 hours")) == "2024-03-27T18:00:00+01:00"


def test_all_holidays_hits_the_horizon():
    every_day = [{"date": f"{m:02d}-{d:02d}", "name": "closed"} for m in range(1, 13) for d in range(1, 32)
                 if (m, d) not in {(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31)}]
    cal = BusinessCalendar.from_spec(
        "never", {"timezone": "Europe/Copenhagen", "hours": {"mon-sun": ["09:00-17:00"]}, "holidays": {"include": every_day}}
    )
    start = at("2024-03-27T16:00+01:00")
    with pytest.raises(CalendarError) as exc:
        cal.add(start, "1 business_hours")
    assert str(exc.value) == (
        f"calendar 'never' has no open time within {HORIZON_YEARS} years after 2024-03-27T16:00:00+01:00"
    )
    with pytest.raises(CalendarError, match="has no open time within 10 years before"):
        cal.subtract(start, "1 business_hours")
    with pytest.raises(CalendarError, match="has no open time within 10 years after"):
        cal.next_open(start)


def test_special_hours_only_calendar():
    cal = BusinessCalendar.from_spec(
        "once",
        {"timezone": "Europe/Copenhagen", "special_hours": [{"date": "2024-06-01", "hours": ["09:00-10:00"]}]},
    )
    assert iso(cal.add(at("2024-01-01T00:00+01:00"), "1 business_hours")) == "2024-06-01T10:00:00+02:00"
    with pytest.raises(CalendarError, match="has no open time within 10 years after"):
        cal.add(at("2024-07-01T00:00+02:00"), "1 business_hours")
    with pytest.raises(CalendarError, match="calendar 'once' has no weekly hours: set business_day in its spec"):
        cal.add(at("2024-01-01T00:00+01:00"), "1 business_days")


# -- structure, explain, threads --------------------------------------------------------
@pytest.mark.parametrize(
    "hours, business_day, expected",
    [
        ({"mon-fri": ["09:00-17:00"]}, None, timedelta(hours=8)),
        ({"mon-sun": ["00:00-24:00"]}, None, timedelta(hours=24)),
        ({"mon-sun": ["07:00-23:00"]}, None, timedelta(hours=16)),
        ({"mon-thu": ["09:00-17:00"], "fri": ["09:00-15:00"]}, None, timedelta(hours=8)),
        ({"mon-tue": ["09:00-17:00"], "wed-thu": ["09:00-15:00"], "fri": ["09:00-13:00"]}, None, timedelta(hours=8)),
        ({"mon-fri": ["08:00-12:00", "13:00-17:30"]}, None, timedelta(hours=8.5)),
        ({"sat": ["10:00-14:00"], "sun": ["10:00-12:00"]}, None, timedelta(hours=4)),
        ({"mon-fri": ["09:00-17:00"]}, "7.5 hours", timedelta(hours=7.5)),
        ({"mon-fri": ["09:00-17:00"]}, "450 minutes", timedelta(hours=7.5)),
    ],
)
def test_business_day(hours, business_day, expected):
    spec = {"timezone": "Europe/Copenhagen", "hours": hours}
    if business_day:
        spec["business_day"] = business_day
    assert BusinessCalendar.from_spec("x", spec).business_day == expected


def test_properties_and_weekly_hours(cals):
    cal = cals["split-special"]
    assert (cal.name, cal.timezone, cal.tz) == ("split-special", "Europe/Copenhagen", CPH)
    assert cal.years == (1970, 2100)
    assert cal.weekly_hours() == {
        "mon": ["08:00-12:00", "13:00-17:30"], "tue": ["08:00-12:00", "13:00-17:30"],
        "wed": ["08:00-12:00", "13:00-17:30"], "thu": ["08:00-12:00", "13:00-17:30"],
        "fri": ["08:00-12:00", "13:00-17:30"], "sat": ["10:00-14:00"], "sun": ["01:00-02:30", "02:45-04:00"],
    }
    assert cal.special_hours()[date(2025, 6, 6)] == ([], "Office move")
    assert repr(cal) == "BusinessCalendar('split-special', timezone='Europe/Copenhagen')"
    merged = BusinessCalendar.from_spec("m", {"timezone": "UTC", "hours": {"mon": ["09:00-12:00", "12:00-17:00"]}})
    assert merged.weekly_hours()["mon"] == ["09:00-17:00"]


def test_calendar_is_immutable(cals):
    cal = cals["partner-support"]
    with pytest.raises(AttributeError):
        cal.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cal._rules = None
    with pytest.raises(AttributeError):
        del cal._name


def test_explain_add(cals):
    lines = cals["partner-support"].explain_add(at("2024-03-27T16:00+01:00"), "5 business_days")
    assert lines == [
        "start Wed 2024-03-27 16:00 CET (Europe/Copenhagen), calendar 'partner-support'",
        "adding 5 business_days = 40h of business time (1 business day = 8h)",
        "Wed 2024-03-27 16:00-17:00 1h (total 1h)",
        "Thu 2024-03-28 closed: holiday (Maundy Thursday)",
        "Fri 2024-03-29 closed: holiday (Good Friday)",
        "Sat 2024-03-30 closed (no opening hours)",
        "Sun 2024-03-31 closed: holiday (Easter Sunday)",
        "Mon 2024-04-01 closed: holiday (Easter Monday)",
        "Tue 2024-04-02 09:00-17:00 8h (total 9h)",
        "Wed 2024-04-03 09:00-17:00 8h (total 17h)",
        "Thu 2024-04-04 09:00-17:00 8h (total 25h)",
        "Fri 2024-04-05 09:00-17:00 8h (total 33h)",
        "Sat 2024-04-06 - Sun 2024-04-07 closed (no opening hours)",
        "Mon 2024-04-08 09:00-16:00 7h (total 40h)",
        "deadline Mon 2024-04-08 16:00 CEST",
    ]
    dst = cals["always-open"].explain_add(at("2024-03-30T22:00+01:00"), "2 business_days")
    assert dst[3] == "Sun 2024-03-31 00:00-24:00 23h (total 25h) [DST change: 24h on the clock is 23h elapsed]"
    assert dst[-1] == "deadline Mon 2024-04-01 23:00 CEST"
    closed_start = cals["partner-support"].explain_add(at("2024-03-28T10:00+01:00"), "1 business_hours")
    assert closed_start[2] == "closed at the start; the clock starts at Tue 2024-04-02 09:00 CEST"
    special = cals["split-special"].explain_add(at("2024-12-23T11:00+01:00"), "2 business_hours")
    assert "Mon 2024-12-23 11:00-12:00 1h (total 1h) [special hours (Half day)]" in special
    assert "Tue 2024-12-24 10:00-11:00 1h (total 2h) [special hours (Skeleton crew, instead of holiday Christmas Eve)]" in special
    assert cals["always-open"].explain_add(at("2024-03-30T02:30+01:00"), "1 days") == [
        "start Sat 2024-03-30 02:30 CET (Europe/Copenhagen), calendar 'always-open'",
        "1 days keeps the wall-clock time (02:30)",
        "the wall-clock time falls in a DST gap and moves forward by the gap",
        "result Sun 2024-03-31 03:30 CEST",
    ]
    assert cals["always-open"].explain_add(at("2024-03-31T01:30+01:00"), "1.5 hours")[1:] == [
        "1.5 hours is elapsed time, not business time",
        "result Sun 2024-03-31 04:00 CEST",
    ]


def test_lazy_index_is_thread_safe():
    starts = [at("2023-01-02T08:00+01:00") + timedelta(hours=37 * i + i % 5) for i in range(1500)]
    reference = BusinessCalendar.from_spec("ref", PARTNER_SUPPORT)
    expected = {s: reference.add(s, "3 business_days").isoformat() for s in starts}
    shared = BusinessCalendar.from_spec("shared", PARTNER_SUPPORT)  # nothing built yet
    results: list[dict] = []
    barrier = threading.Barrier(6)

    def work(n: int) -> None:
        order = starts[n:] + starts[:n] if n % 2 else starts[::-1]
        barrier.wait()
        results.append({s: shared.add(s, "3 business_days").isoformat() for s in order})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6
    assert all(got == expected for got in results)


# -- check_calendar_spec: every semantic check, with its exact path and message ---------------
CHECK_BASE = {"timezone": "Europe/Copenhagen", "hours": {"mon-fri": ["09:00-17:00"]}, "holidays": {"country": "DK"}}
ONE_DAY_ONLY = "expected one of mon, tue, wed, thu, fri, sat, sun or an ascending range such as 'mon-fri'"
CHECKS = [
    # timezone
    ({"timezone": "Europe/Copenhagn"}, ("timezone",),
     "unknown time zone 'Europe/Copenhagn'; did you mean 'Europe/Copenhagen'?", "Europe/Copenhagen"),
    ({"timezone": "europe/copenhagen"}, ("timezone",),
     "unknown time zone 'europe/copenhagen'; did you mean 'Europe/Copenhagen'?", "Europe/Copenhagen"),
    ({"timezone": "Mars/Olympus"}, ("timezone",),
     "unknown time zone 'Mars/Olympus'; use an IANA name like 'Europe/Copenhagen'", None),
    ({"timezone": None}, ("timezone",), "timezone is required (an IANA name such as 'Europe/Copenhagen')", None),
    # holiday country, subdivision, categories
    ({"holidays": {"country": "DKK"}}, ("holidays", "country"),
     "unknown holiday country 'DKK' (a 'holidays' package country code such as 'DK')", "DK"),
    ({"holidays": {"country": "Denmark"}}, ("holidays", "country"),
     "unknown holiday country 'Denmark' (a 'holidays' package country code such as 'DK')", "DK"),
    ({"holidays": {"country": "XX"}}, ("holidays", "country"),
     "unknown holiday country 'XX' (a 'holidays' package country code such as 'DK')", None),
    ({"holidays": {"country": "DE", "subdivision": "BYY"}}, ("holidays", "subdivision"),
     "unknown subdivision 'BYY' for country 'DE' (17 subdivisions such as BB, BE, BW, BY, HB)", "BY"),
    ({"holidays": {"country": "DK", "subdivision": "X"}}, ("holidays", "subdivision"),
     "unknown subdivision 'X' for country 'DK' (it has none)", None),
    ({"holidays": {"subdivision": "BY"}}, ("holidays", "subdivision"), "a subdivision needs a country", None),
    ({"holidays": {"country": "DK", "categories": ["public", "optinal"]}}, ("holidays", "categories", 1),
     "unknown holiday category 'optinal' for country 'DK' (supported: optional, public)", "optional"),
    ({"holidays": {"country": "DK", "categories": []}}, ("holidays", "categories"),
     "categories must be a non-empty list such as [public]", None),
    # intervals
    ({"hours": {"mon-fri": ["17:00-09:00"]}}, ("hours", "mon-fri", 0),
     "interval '17:00-09:00' ends before it starts; an interval cannot cross midnight: "
     "use '17:00-24:00' on this day and '00:00-09:00' on the next", None),
    ({"hours": {"mon-fri": ["09:00-09:00"]}}, ("hours", "mon-fri", 0),
     "interval '09:00-09:00' is empty (it opens and closes at the same time)", None),
    ({"hours": {"mon-fri": ["9:00-17:00"]}}, ("hours", "mon-fri", 0),
     "invalid interval '9:00-17:00': expected 'HH:MM-HH:MM' (end may be 24:00)", "09:00-17:00"),
    ({"hours": {"mon-fri": ["09:00-25:00"]}}, ("hours", "mon-fri", 0),
     "invalid interval '09:00-25:00': times run from 00:00 to 23:59 (end may be 24:00)", None),
    ({"hours": {"mon-fri": ["24:00-24:00"]}}, ("hours", "mon-fri", 0),
     "invalid interval '24:00-24:00': times run from 00:00 to 23:59 (end may be 24:00)", None),
    ({"hours": {"mon": "09:00-17:00"}}, ("hours", "mon"),
     "expected a list of 'HH:MM-HH:MM' intervals ([] means closed)", None),
    # overlaps, on one key or through two keys naming the same day
    ({"hours": {"mon-fri": ["09:00-12:00", "11:00-13:00"]}}, ("hours", "mon-fri", 1),
     "interval '11:00-13:00' overlaps '09:00-12:00' of 'mon-fri' on mon, tue, wed, thu, fri", None),
    ({"hours": {"mon-fri": ["09:00-17:00"], "mon": ["16:00-18:00"]}}, ("hours", "mon", 0),
     "interval '16:00-18:00' overlaps '09:00-17:00' of 'mon-fri' on mon", None),
    ({"hours": {"mon-fri": ["09:00-17:00"], "wed-sun": ["08:00-09:30"]}}, ("hours", "wed-sun", 0),
     "interval '08:00-09:30' overlaps '09:00-17:00' of 'mon-fri' on wed, thu, fri", None),
    # day keys
    ({"hours": {"fri-mon": ["09:00-17:00"]}}, ("hours", "fri-mon"),
     "day range 'fri-mon' is descending; ranges run from mon to sun: use 'fri-sun' and 'mon'", None),
    ({"hours": {"sun-mon": ["09:00-17:00"]}}, ("hours", "sun-mon"),
     "day range 'sun-mon' is descending; ranges run from mon to sun: use 'sun' and 'mon'", None),
    ({"hours": {"monday": ["09:00-17:00"]}}, ("hours", "monday"), f"unknown day 'monday': {ONE_DAY_ONLY}", "mon"),
    ({"hours": {"mon-friday": ["09:00-17:00"]}}, ("hours", "mon-friday"),
     f"unknown day 'mon-friday': {ONE_DAY_ONLY}", "mon-fri"),
    # dates
    ({"holidays": {"country": "DK", "include": [{"date": "02-30", "name": "x"}]}}, ("holidays", "include", 0, "date"),
     "invalid date '02-30': day is out of range for month", None),
    ({"holidays": {"country": "DK", "exclude": [{"date": "2024-13-01"}]}}, ("holidays", "exclude", 0, "date"),
     "invalid date '2024-13-01': month must be in 1..12", None),
    ({"holidays": {"country": "DK", "include": [{"date": "Dec 24", "name": "x"}]}}, ("holidays", "include", 0, "date"),
     "invalid date 'Dec 24': expected 'MM-DD' (every year) or 'YYYY-MM-DD'", None),
    ({"holidays": {"country": "DK", "include": [{"date": "2101-01-01", "name": "x"}]}}, ("holidays", "include", 0, "date"),
     "date 2101-01-01 is outside the supported years 1970-2100", None),
    ({"holidays": {"country": "DK", "include": [{"date": "2024-12-24", "name": "x"}], "exclude": [{"date": "2024-12-24"}]}},
     ("holidays", "exclude", 0, "date"), "2024-12-24 is both included (include[0]) and excluded", None),
    ({"holidays": {"include": ["12-24"]}}, ("holidays", "include", 0), "expected a mapping with a 'date'", None),
    # special hours
    ({"special_hours": [{"date": "2024-12-23", "hours": ["09:00-12:00"]}, {"date": "2024-12-23", "hours": []}]},
     ("special_hours", 1, "date"), "duplicate special_hours date 2024-12-23 (already given in special_hours[0])", None),
    ({"special_hours": [{"date": "12-23", "hours": []}]}, ("special_hours", 0, "date"),
     "invalid date '12-23': expected 'YYYY-MM-DD'", None),
    ({"special_hours": [{"date": "2024-12-23", "hours": ["09:00-12:00", "10:00-11:00"]}]},
     ("special_hours", 0, "hours", 1), "interval '10:00-11:00' overlaps '09:00-12:00' on the same date", None),
    # business_day
    ({"business_day": "0 hours"}, ("business_day",), "business_day must be positive, got '0 hours'", None),
    ({"business_day": "-8 hours"}, ("business_day",), "business_day must be positive, got '-8 hours'", None),
    ({"business_day": "8 business_hours"}, ("business_day",),
     "business_day must be in minutes or hours, not business_hours", "8 hours"),
    ({"business_day": "1 business_days"}, ("business_day",),
     "business_day must be in minutes or hours, not business_days", None),
    ({"business_day": "1 days"}, ("business_day",), "business_day must be in minutes or hours, not days", "24 hours"),
    ({"business_day": "8 hourz"}, ("business_day",),
     "business_day: unknown duration unit 'hourz' in '8 hourz' (expected '<number> <unit>' with unit one of "
     "minutes, hours, days, business_minutes, business_hours, business_days)", "8 hours"),
]


def _spec(patch: dict) -> dict:
    spec = {**CHECK_BASE, **patch}
    return {k: v for k, v in spec.items() if v is not None}


@pytest.mark.parametrize("patch, path, message, suggestion", CHECKS, ids=[c[2][:40] for c in CHECKS])
def test_check_calendar_spec(patch, path, message, suggestion):
    from engine.calendar.business import check_calendar_spec

    problems = [p for p in check_calendar_spec(_spec(patch)) if p.is_error]
    assert [(p.path, p.message, p.suggestion) for p in problems] == [(path, message, suggestion)]
    with pytest.raises(CalendarError) as exc:
        BusinessCalendar.from_spec("bad", _spec(patch))
    assert str(exc.value).startswith("calendar 'bad' is invalid: ")
    assert message in str(exc.value)


def test_check_reports_every_problem_and_valid_specs_are_clean():
    from engine.calendar.business import check_calendar_spec

    for spec in SPECS.values():
        assert list(check_calendar_spec(spec)) == []
    everything = {
        "timezone": "Europe/Copenhagn",
        "hours": {"mon-fri": ["17:00-09:00", "09:00-09:00", "12:00-14:00"], "fri-mon": [], "mon": ["13:00-18:00"]},
        "holidays": {"country": "DKK", "include": [{"date": "02-30", "name": "x"}]},
        "special_hours": [{"date": "2024-12-23", "hours": []}, {"date": "2024-12-23", "hours": []}],
        "business_day": "8 business_hours",
    }
    paths = [p.path for p in check_calendar_spec(everything)]
    assert paths == [
        ("timezone",), ("hours", "mon-fri", 0), ("hours", "mon-fri", 1), ("hours", "fri-mon"),
        ("hours", "mon", 0), ("holidays", "country"), ("holidays", "include", 0, "date"),
        ("special_hours", 1, "date"), ("business_day",),
    ]


def test_no_open_time_is_a_warning():
    from engine.calendar.business import check_calendar_spec

    [problem] = check_calendar_spec({"timezone": "UTC", "hours": {"sat-sun": []}})
    assert (problem.path, problem.severity) == (("hours",), "warning")
    assert problem.message == "the calendar has no open time: business durations on it cannot be computed"


@pytest.mark.parametrize(
    "spec",
    [
        None, [], "x", {}, {"timezone": 5}, {"timezone": "UTC", "hours": ["mon"]},
        {"timezone": "UTC", "hours": {"mon": [9]}}, {"timezone": "UTC", "hours": {5: ["09:00-17:00"]}},
        {"timezone": "UTC", "holidays": "DK"}, {"timezone": "UTC", "holidays": {"include": "12-24"}},
        {"timezone": "UTC", "holidays": {"country": 45}}, {"timezone": "UTC", "holidays": {"categories": "public"}},
        {"timezone": "UTC", "special_hours": {"date": "2024-01-01"}},
        {"timezone": "UTC", "special_hours": [{"date": 20240101, "hours": None}]},
        {"timezone": "UTC", "business_day": 8}, {"timezone": "UTC", "business_day": ["8 hours"]},
    ],
)
def test_from_spec_raises_calendar_error_on_garbage(spec):
    with pytest.raises(CalendarError, match="calendar 'junk' is invalid: "):
        BusinessCalendar.from_spec("junk", spec)


def test_yaml_dates_and_mappings_are_accepted():
    from types import MappingProxyType

    spec = MappingProxyType({
        "timezone": "Europe/Copenhagen",
        "hours": MappingProxyType({"mon-fri": ("09:00-17:00",)}),
        "holidays": {"include": [{"date": date(2024, 6, 7), "name": "Summer party"}]},
        "special_hours": [{"date": date(2024, 12, 23), "hours": ["09:00-12:00"]}],
    })
    cal = BusinessCalendar.from_spec("yaml", spec)
    assert cal.holidays(2024) == {date(2024, 6, 7): "Summer party"}
    assert iso(cal.add(at("2024-12-23T11:00+01:00"), "2 business_hours")) == "2024-12-24T10:00:00+01:00"
