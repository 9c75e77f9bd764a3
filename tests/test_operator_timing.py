"""The operator deadlines computed for every ticket (levels added together on one clock) agree
with the level-by-level reference, :func:`engine.sla.operator.level_due`, for any SLA shape."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import examples
from engine.calendar.duration import Duration
from engine.sla.operator import Level, OperatorSLA, _Timing, level_due

ZONES = ["Europe/Copenhagen", "Asia/Tokyo", "America/New_York", "UTC"]
CREATED_ZONES = [ZoneInfo("Europe/Copenhagen"), timezone.utc, timezone(timedelta(hours=-5)),
                 timezone(timedelta(hours=9))]
# Fridays and Sundays around both 2024 DST changes, Christmas and a year end, then anything
SPECIAL = [datetime(2024, 3, 29, 23, 0), datetime(2024, 3, 31, 1, 30), datetime(2024, 10, 25, 22, 0),
           datetime(2024, 10, 27, 2, 30), datetime(2024, 12, 27, 23, 59, 59), datetime(2024, 12, 31, 12, 0)]

levels = st.builds(
    Level,
    st.builds(Duration, st.integers(1, 96), st.sampled_from(["minutes", "hours", "days"])),
    st.booleans(),
)
naive_instants = st.one_of(
    st.sampled_from(SPECIAL),
    st.datetimes(min_value=datetime(2023, 6, 1), max_value=datetime(2026, 6, 1)),
)


def _sla(first: Level, second: Level) -> OperatorSLA:
    return OperatorSLA("s", "S", "", first, second, None, False, "Europe/Copenhagen")


def _reference(sla: OperatorSLA, zone: str, created: datetime, escalated: datetime | None):
    first = level_due(created, sla.first_level, zone)
    total = level_due(first, sla.second_level, zone)
    second = level_due(escalated, sla.second_level, zone) if escalated is not None else total
    return first, second, total


def _instants(results):
    """Compare instants and the zone they are reported in (== on aware datetimes ignores the zone)."""
    return [(t.timestamp(), t.utcoffset()) for t in results]


@pytest.mark.slow
@settings(max_examples=examples(1500), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(levels, levels, st.sampled_from(ZONES), naive_instants, st.sampled_from(CREATED_ZONES),
       st.one_of(st.none(), st.integers(0, 10 * 24 * 3600)))
def test_timing_agrees_with_level_by_level(first, second, zone, created, created_zone, escalated_after):
    sla = _sla(first, second)
    created = created.replace(tzinfo=created_zone)
    escalated = None if escalated_after is None else created + timedelta(seconds=escalated_after)
    timing = _Timing(sla, zone)
    assert _instants(timing.deadlines(created, escalated)) == _instants(_reference(sla, zone, created, escalated))


def test_usual_slas_take_the_combined_paths():
    """Weekday-only levels, and elapsed every-day levels, are added together; a mixed SLA is not."""
    weekdays = _Timing(_sla(Level(Duration(24, "hours"), True), Level(Duration(2, "days"), True)), "UTC")
    elapsed = _Timing(_sla(Level(Duration(4, "hours"), False), Level(Duration(30, "minutes"), False)), "UTC")
    mixed = _Timing(_sla(Level(Duration(4, "hours"), False), Level(Duration(1, "days"), True)), "UTC")
    assert (weekdays.mode, elapsed.mode, mixed.mode) == ("business", "elapsed", "levels")
    # the seed's example: created Friday 15:00, 24 h + 48 h of weekday time
    created = datetime(2024, 3, 22, 15, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
    cph = _Timing(_sla(Level(Duration(24, "hours"), True), Level(Duration(48, "hours"), True)), "Europe/Copenhagen")
    first, second, total = cph.deadlines(created, None)
    assert first.isoformat() == "2024-03-25T15:00:00+01:00"
    assert second == total and total.isoformat() == "2024-03-27T15:00:00+01:00"
