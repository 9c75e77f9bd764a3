"""Measuring a metric over a ticket's phases (engine/sla/measure.py) against a phase-by-phase reference.

The engine measures a ticket's phases once per calendar (prefix sums) and a metric as a window of them;
the reference below walks the phases one by one, as the clock first did: a metric's class over each
phase (waiting, running, paused, stopped), elapsed and paused time added up, the target reached inside
the phase where the running time crosses it.  Both must agree on every field, for random phases (any
mix of classes, zero-length business phases outside opening hours, a last phase that ends at its own
start) and targets (zero, exactly the elapsed time, reached inside a phase or at a closing boundary).
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from engine.calendar.business import BusinessCalendar
from engine.calendar.index import epoch_us
from engine.sla.measure import PAUSE, RUN, STOP, WAIT, Regime, measure, phases_on
from conftest import examples

CPH = ZoneInfo("Europe/Copenhagen")
CALENDARS = [
    BusinessCalendar.from_spec("office", {"timezone": "Europe/Copenhagen", "hours": {"mon-fri": ["09:00-17:00"]},
                                          "business_day": "8 hours"}),
    BusinessCalendar.from_spec("split", {"timezone": "America/New_York",
                                         "hours": {"mon-fri": ["08:00-12:00", "13:00-17:00"]},
                                         "business_day": "8 hours"}),
    BusinessCalendar.from_spec("always", {"timezone": "UTC", "hours": {"mon-sun": ["00:00-24:00"]},
                                          "business_day": "24 hours"}),
]
START = epoch_us(datetime(2024, 3, 25, 8, 0, tzinfo=CPH))   # Easter week, DST on Sunday
HOUR = 3_600_000_000
SINCE = datetime(2024, 3, 25, 8, 0, tzinfo=CPH)


def reference(cal, target, classes, starts, end):
    """The metric of class ``classes[i]`` over phase ``i``, phase by phase."""
    pos, first_yr = cal.business_positions(starts + [end])
    elapsed = paused = 0
    reached = stop_from = None
    stop_index = 0
    late = started = False
    last = WAIT
    n = len(starts)
    for i in range(n):
        cls = classes[i]
        if cls == WAIT:
            continue
        a = starts[i]
        started = True
        last = cls
        if cls == STOP:
            if stop_from is None:
                stop_from, stop_index = a, i
            continue
        stop_from = None
        d = pos[i + 1] - pos[i]
        if cls == PAUSE:
            paused += d
            continue
        if reached is not None:
            if (starts[i + 1] if i + 1 < n else end) > a:
                late = True
        elif elapsed + d >= target:
            amount = target - elapsed
            reached = cal.earliest_at(first_yr, pos[i] + amount, SINCE) if amount > 0 else a
            late = reached < (starts[i + 1] if i + 1 < n else end)
        elapsed += d
    base = pos[stop_index] if stop_from is not None else pos[n]
    return (elapsed, paused, target, reached, late, last if started else WAIT, stop_from, started, base)


@st.composite
def lives(draw):
    n = draw(st.integers(1, 9))
    gaps = draw(st.lists(st.sampled_from([1, 15, 60, 4 * 60, 17 * 60, 24 * 60, 3 * 24 * 60]), min_size=n, max_size=n))
    starts, t = [], START + draw(st.integers(0, 48)) * HOUR // 4
    for gap in gaps:
        starts.append(t)
        t += gap * 60_000_000
    end = starts[-1] + draw(st.sampled_from([0, 60_000_000, HOUR, 30 * HOUR, 200 * HOUR]))
    kinds = draw(st.lists(st.sampled_from([RUN, RUN, PAUSE, STOP]), min_size=n, max_size=n))
    lo = draw(st.integers(0, n))
    hi = draw(st.integers(0, n))
    cal = draw(st.sampled_from(CALENDARS))
    return cal, starts, kinds, end, lo, hi


@settings(max_examples=examples(600), deadline=None, database=None)
@given(lives(), st.data())
def test_a_window_of_the_measured_phases_is_the_metric_walked_phase_by_phase(life, data):
    cal, starts, kinds, end, lo, hi = life
    n = len(starts)
    classes = [WAIT if i < lo else kinds[i] if i < hi else STOP for i in range(n)]
    pos, first_yr = cal.business_positions(starts + [end])
    ph = phases_on(pos, first_yr, kinds)
    elapsed = ph.run[min(hi, n)] - ph.run[lo] if min(hi, n) > lo else 0
    # targets around what the metric ran: none, a minute, exactly its elapsed time, just past it, a lot
    target = data.draw(st.sampled_from([0, 60_000_000, elapsed, elapsed + 1, max(elapsed - 1, 0), elapsed // 2,
                                        40 * HOUR]))
    regime = Regime(("test",), cal, target, f"{target} us", starts[0], None)
    got = measure(regime, ph, starts, kinds, lo, hi, end, starts[0], SINCE)
    want = reference(cal, target, classes, starts, end)
    assert tuple(got)[:9] == want
