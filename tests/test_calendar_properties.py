"""Properties of business-time arithmetic on several calendars (hypothesis).

Instants are compared as integer microseconds since the epoch: aware datetimes
that share a tzinfo compare on the wall clock and ignore ``fold``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_package
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import examples
from engine.calendar.index import epoch_us
from engine.calendar.business import BusinessCalendar

try:
    from test_calendar import SPECS
except ImportError:  # tests/ imported as a package
    from tests.test_calendar import SPECS

CPH = ZoneInfo("Europe/Copenhagen")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US = timedelta(microseconds=1)
NAMES = ("partner-support", "always-open", "business-portal", "split-special")
CALS = {name: BusinessCalendar.from_spec(name, SPECS[name]) for name in NAMES}
EXAMPLES = settings(max_examples=examples(2000), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def us(t: datetime) -> int:
    return (t - EPOCH) // US


def shift(t: datetime, micros: int) -> datetime:
    """``t`` moved by elapsed microseconds (``t + timedelta`` would move the wall clock)."""
    return t.astimezone(timezone.utc) + micros * US


# -- strategies ---------------------------------------------------------------------
LO, HI = datetime(2023, 1, 1, tzinfo=CPH), datetime(2027, 12, 31, tzinfo=CPH)
ZONES = [CPH, timezone.utc, ZoneInfo("America/New_York"), timezone(timedelta(hours=5, minutes=30))]
INTERESTING_DATES = [
    date(2024, 3, 31), date(2024, 10, 27), date(2025, 3, 30), date(2025, 10, 26), date(2026, 3, 29),
    date(2024, 3, 27), date(2024, 3, 28), date(2024, 4, 1), date(2024, 5, 9), date(2024, 12, 23),
    date(2024, 12, 24), date(2024, 12, 31), date(2025, 1, 1), date(2025, 6, 6), date(2023, 12, 29),
]
WALL_TIMES = [time(h, m) for h, m in [(0, 0), (1, 0), (2, 0), (2, 30), (2, 45), (3, 0), (4, 0), (7, 0), (8, 0),
                                       (9, 0), (10, 0), (12, 0), (13, 0), (14, 0), (17, 0), (17, 30), (23, 0)]]
NUDGES = [timedelta(0), US, -US, timedelta(minutes=1), -timedelta(minutes=1)]


BOUNDARY_DATES = INTERESTING_DATES + [LO.date() + timedelta(days=n) for n in range((HI - LO).days + 1)]


SPAN = us(HI) - us(LO)
N_BOUNDARY = len(BOUNDARY_DATES) * len(WALL_TIMES) * 2 * len(NUDGES) * len(ZONES)


def _uniform(n: int) -> datetime:
    offset, zone = divmod(n, len(ZONES))
    return (LO + offset * US).astimezone(ZONES[zone])


def _boundary(n: int) -> datetime:
    n, zone = divmod(n, len(ZONES))
    n, nudge = divmod(n, len(NUDGES))
    n, fold = divmod(n, 2)
    day, wall = divmod(n, len(WALL_TIMES))
    local = datetime.combine(BOUNDARY_DATES[day], WALL_TIMES[wall], tzinfo=CPH).replace(fold=fold)
    return (local.astimezone(timezone.utc) + NUDGES[nudge]).astimezone(ZONES[zone])


# Each instant is one integer draw decoded by hand: hypothesis' own per-draw
# overhead dominates the run time, not the calendar.  The first
# len(INTERESTING_DATES) dates are DST changes and holidays, so small
# (shrunk) values land on them.
instants = st.one_of(
    st.integers(0, N_BOUNDARY - 1).map(_boundary),
    st.integers(0, SPAN * len(ZONES)).map(_uniform),
)
calendars = st.sampled_from(NAMES)
business_durations = st.one_of(
    st.integers(0, 60 * 8 * 40).map(lambda n: f"{n} business_minutes"),
    st.integers(0, 4 * 200).map(lambda n: f"{n / 4:g} business_hours"),
    st.integers(0, 400).map(lambda n: f"{n} business_days"),
    st.integers(0, 40).map(lambda n: f"{n}.5 business_days"),
)


def positive(d: str) -> bool:
    return not d.startswith("0 ")


def amount(cal: BusinessCalendar, d: str) -> timedelta:
    number, unit = d.split(" ")
    scale = {"business_minutes": timedelta(minutes=1), "business_hours": timedelta(hours=1),
             "business_days": cal.business_day}[unit]
    return scale * float(number) if "." in number else scale * int(number)


# -- properties ------------------------------------------------------------------------
@pytest.mark.slow
@EXAMPLES
@given(calendars, instants, business_durations)
def test_between_of_add_is_the_duration(name, a, d):
    cal = CALS[name]
    result = cal.add(a, d)
    assert result.tzinfo is CPH
    assert cal.between(a, result) == amount(cal, d)


@pytest.mark.slow
@EXAMPLES
@given(calendars, instants, instants, business_durations)
def test_add_is_monotonic_in_start(name, a1, a2, d):
    cal = CALS[name]
    if us(a2) < us(a1):
        a1, a2 = a2, a1
    assert us(cal.add(a1, d)) <= us(cal.add(a2, d))


@pytest.mark.slow
@EXAMPLES
@given(calendars, instants, st.integers(0, 20_000), st.integers(0, 20_000))
def test_add_is_monotonic_in_duration(name, a, m1, m2):
    cal = CALS[name]
    m1, m2 = sorted((m1, m2))
    first, second = cal.add(a, f"{m1} business_minutes"), cal.add(a, f"{m2} business_minutes")
    assert us(first) <= us(second)
    if m1 < m2:
        assert us(first) < us(second)


@pytest.mark.slow
@EXAMPLES
@given(calendars, instants, business_durations.filter(positive))
def test_subtract_undoes_add_to_the_first_business_instant(name, a, d):
    cal = CALS[name]
    back = cal.subtract(cal.add(a, d), d)
    assert us(back) == us(cal.next_open(a))
    assert cal.is_open(back)


@pytest.mark.slow
@EXAMPLES
@given(calendars, instants, business_durations.filter(positive))
def test_add_lands_in_open_time_or_exactly_at_closing(name, a, d):
    cal = CALS[name]
    result = cal.add(a, d)
    at_closing = not cal.is_open(result) and cal.is_open(shift(result, -1))
    assert cal.is_open(result) or at_closing
    # Earliest: one microsecond earlier is not yet enough business time.
    assert cal.between(a, shift(result, -1)) < amount(cal, d)


@pytest.mark.slow
@EXAMPLES
@given(calendars, instants, instants, instants)
def test_between_is_antisymmetric_and_additive(name, a, b, c):
    cal = CALS[name]
    ab = cal.between(a, b)
    assert cal.between(b, a) == -ab
    assert cal.between(a, c) == ab + cal.between(b, c)
    assert (ab >= timedelta(0)) == (us(b) >= us(a)) or ab == timedelta(0)
    assert abs(ab) <= abs(us(b) - us(a)) * US


@pytest.mark.slow
@EXAMPLES
@given(calendars, instants, business_durations.filter(positive))
def test_subtract_is_latest(name, b, d):
    cal = CALS[name]
    t = cal.subtract(b, d)
    assert cal.between(t, b) == amount(cal, d)
    assert cal.between(shift(t, 1), b) < amount(cal, d)
    assert cal.is_open(t)


@pytest.mark.slow
@EXAMPLES
@given(calendars, instants)
def test_next_open(name, t):
    cal = CALS[name]
    n = cal.next_open(t)
    assert us(n) >= us(t) and cal.is_open(n)
    assert cal.between(t, n) == timedelta(0)
    assert (us(n) == us(t)) == cal.is_open(t)


# -- against an independent model --------------------------------------------------------
@lru_cache(maxsize=None)
def _model_closed(name: str, year: int) -> frozenset[date]:
    block = SPECS[name].get("holidays") or {}
    closed = set()
    if block.get("country"):
        categories = tuple(block.get("categories", ["public"]))
        closed |= set(holidays_package.country_holidays(block["country"], years=year, categories=categories))
    closed |= {date(year, *map(int, i["date"].split("-"))) for i in block.get("include", []) if len(i["date"]) == 5}
    closed -= {date.fromisoformat(e["date"]) for e in block.get("exclude", [])}
    return frozenset(closed)


def _model_intervals(name: str, day: date) -> list[tuple[int, int]]:
    """Open intervals of ``day`` straight from the spec: no index, no merging."""
    spec = SPECS[name]
    special = {s["date"]: s["hours"] for s in spec.get("special_hours", [])}
    closed = _model_closed(name, day.year)
    if day.isoformat() in special:
        hours = special[day.isoformat()]
    elif day in closed:
        hours = []
    else:
        hours = []
        for key, intervals in spec["hours"].items():
            names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            lo, _, hi = key.partition("-")
            if names.index(lo) <= day.weekday() <= names.index(hi or lo):
                hours += intervals
    out = []
    for text in hours:
        start, end = text.split("-")
        s = datetime.combine(day, time.fromisoformat(start), tzinfo=CPH)
        e = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=CPH) if end == "24:00"
             else datetime.combine(day, time.fromisoformat(end), tzinfo=CPH))
        if us(e) > us(s):
            out.append((us(s), us(e)))
    return out


def _model_between(name: str, a: datetime, b: datetime) -> timedelta:
    lo, hi = us(a), us(b)
    total = 0
    day = a.astimezone(CPH).date() - timedelta(days=1)
    while day <= b.astimezone(CPH).date():
        for s, e in _model_intervals(name, day):
            total += max(0, min(e, hi) - max(s, lo))
        day += timedelta(days=1)
    return timedelta(microseconds=total)


@pytest.mark.slow
@EXAMPLES
@given(calendars, instants, st.integers(0, 5 * 24 * 3600 * 1_000_000))
def test_between_matches_a_day_by_day_model(name, a, span_us):
    b = shift(a, span_us)
    assert CALS[name].between(a, b) == _model_between(name, a, b)


@settings(max_examples=examples(300), deadline=None)
@given(st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2027, 12, 31),
                    timezones=st.just(timezone.utc)),
       st.lists(st.sampled_from(["2 business_hours", "4 business_hours", "5 business_days", "20 business_days",
                                 "0 business_hours", "3 hours", "1 days"]), min_size=1, max_size=4))
def test_add_many_equals_add_one_by_one(start, durations):
    cal = CALS["partner-support"]
    expected = tuple(cal.add(start, d) for d in durations)
    assert cal.add_many(start, durations) == expected
    as_tuple = tuple(durations)  # tuples take the cached path: twice, to hit the cache
    assert cal.add_many(start, as_tuple) == expected
    assert cal.add_many(start, as_tuple) == expected


@pytest.mark.slow
@settings(max_examples=examples(2000), deadline=None, database=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
       st.one_of(st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59))
                 .map(timezone), st.sampled_from(ZONES)))
def test_epoch_microseconds_from_fields_equal_datetime_subtraction(naive, zone):
    t = naive.replace(tzinfo=zone)
    assert epoch_us(t) == (t - EPOCH) // US
    assert epoch_us(t) == epoch_us(t)  # the remembered offset gives the same


def test_epoch_microseconds_of_a_naive_datetime_is_a_type_error():
    with pytest.raises(TypeError):
        epoch_us(datetime(2024, 1, 1))
