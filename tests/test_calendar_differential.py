"""Differential test against pandas' CustomBusinessHour on a Mon-Fri 09:00-17:00 calendar.

pandas works on naive wall-clock times, so starts are naive local times (none on
a DST night: those are weekend nights, closed on this calendar) and results are
compared on the wall clock.

Conventions normalised before comparing:

* pandas reports an instant exactly at closing as the next opening when adding
  and reports an opening as the previous closing when subtracting; we report
  closing times (earliest instant) for ``add`` and openings (latest instant)
  for ``subtract``.  Both sides are mapped through ``next_open``, which
  identifies instants with the same business position.
* pandas offsets are whole hours; business minutes are checked by composing
  ``r`` minutes of ours with ``k`` hours of pandas against ``60k + r`` minutes
  of ours.
"""
from __future__ import annotations

import warnings
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.tseries.offsets import CustomBusinessHour

from conftest import examples
from engine.calendar.business import BusinessCalendar

try:
    from test_calendar import PARTNER_SUPPORT
except ImportError:  # tests/ imported as a package
    from tests.test_calendar import PARTNER_SUPPORT

CPH = ZoneInfo("Europe/Copenhagen")
CAL = BusinessCalendar.from_spec("partner-support", PARTNER_SUPPORT)
HOLIDAYS = sorted(d for year in range(2022, 2030) for d in CAL.holidays(year))
FIRST = datetime(2023, 1, 1)
SECONDS = int((datetime(2027, 6, 30) - FIRST).total_seconds())
DIFFERENTIAL = settings(max_examples=examples(2500), deadline=None, database=None)

starts = st.integers(0, SECONDS).map(lambda s: FIRST + timedelta(seconds=s))


@lru_cache(maxsize=None)
def pandas_offset(n: int) -> CustomBusinessHour:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CustomBusinessHour(n=n, start="09:00", end="17:00", holidays=HOLIDAYS)


def pandas_add(start: datetime, hours: int) -> datetime:
    return (pd.Timestamp(start) + pandas_offset(hours)).to_pydatetime()


def wall(t: datetime) -> datetime:
    """Business position as a naive wall-clock time (closing -> next opening)."""
    return CAL.next_open(t).replace(tzinfo=None)


def local(naive: datetime) -> datetime:
    return naive.replace(tzinfo=CPH)


@pytest.mark.slow
@DIFFERENTIAL
@given(starts, st.integers(1, 200))
def test_add_business_hours_matches_pandas(start, hours):
    ours = CAL.add(local(start), f"{hours} business_hours")
    assert wall(ours) == wall(local(pandas_add(start, hours)))


@pytest.mark.slow
@DIFFERENTIAL
@given(starts, st.integers(1, 200))
def test_subtract_business_hours_matches_pandas(end, hours):
    ours = CAL.subtract(local(end), f"{hours} business_hours")
    assert CAL.is_open(ours)
    assert wall(ours) == wall(local(pandas_add(end, -hours)))


@pytest.mark.slow
@DIFFERENTIAL
@given(starts, st.integers(0, 120), st.integers(0, 59))
def test_add_business_minutes_matches_pandas(start, hours, minutes):
    ours = CAL.add(local(start), f"{60 * hours + minutes} business_minutes")
    partial = CAL.add(local(start), f"{minutes} business_minutes").replace(tzinfo=None)
    theirs = pandas_add(partial, hours) if hours else partial
    assert wall(ours) == wall(local(theirs))


def test_known_cases_and_the_boundary_conventions():
    start = datetime(2024, 3, 27, 16)
    assert pandas_add(start, 4) == CAL.add(local(start), "4 business_hours").replace(tzinfo=None)
    # At exactly closing: pandas says the next opening, we say the closing time.
    assert pandas_add(start, 1) == datetime(2024, 4, 2, 9)
    assert CAL.add(local(start), "1 business_hours").replace(tzinfo=None) == datetime(2024, 3, 27, 17)
    # Subtracting to exactly an opening: pandas says the previous closing, we the opening.
    assert pandas_add(datetime(2024, 4, 3, 9), -8) == datetime(2024, 3, 27, 17)
    ours = CAL.subtract(local(datetime(2024, 4, 3, 9)), "8 business_hours")
    assert ours.replace(tzinfo=None) == datetime(2024, 4, 2, 9)
