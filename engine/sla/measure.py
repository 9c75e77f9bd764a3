"""Measuring a metric over a ticket's phases: elapsed and paused time, the instant the target was
reached, and where the metric stands (the contract is :mod:`engine.sla.clock`'s).

A ticket's life is a list of phases (``starts[i]`` to the next start, the last one to ``end``), each
with the class its status gives it (``kinds``: running, paused or stopped).  On one calendar the phases
are measured once (:func:`phases_on`): the business position of every start and of the end, and the
running and the paused time before each phase (prefix sums).  A metric is then a window of those
phases (:func:`measure`): it counts from phase ``lo`` and is stopped for good from phase ``hi`` (the
first reply, an escalation), so its elapsed and paused time are two differences, and only a metric
past its target looks for the phase in which it was reached (a bisection).
"""
from __future__ import annotations

from bisect import bisect_left
from datetime import datetime
from typing import Any, NamedTuple

from ..calendar.business import BusinessCalendar
from ..calendar.index import epoch_us
from .operator import level_due

RUN, PAUSE, STOP, WAIT = 0, 1, 2, 3     # a metric's class over one phase of the ticket's life
_new_tuple = tuple.__new__   # builds a named tuple from its fields in order, without its Python __new__


class Regime(NamedTuple):
    """What a metric counts against: a target on a calendar, from an instant."""

    key: tuple
    cal: BusinessCalendar     # the calendar time counts on
    target_us: int | None     # None: a 'days' target, whose length depends on where the metric starts
    target: str               # as written, e.g. "4 business_hours", "24 hours (weekdays only)"
    count_from: int           # epoch microseconds: time before this does not count
    days: tuple | None        # how to measure a 'days' target: ("calendar", cal, Duration) | ("level", Level, tz)


class Phases(NamedTuple):
    """A ticket's phases measured on one calendar, up to an end."""

    pos: list[int]            # business position of each phase's start, and of the end (last)
    run: list[int]            # run[i]: business time of the running phases before phase i
    paused: list[int]         # the same for the paused phases
    first_yr: Any             # the year index the positions count from


class Measure(NamedTuple):
    elapsed: int
    paused: int
    target: int
    reached: int | None       # when elapsed reached the target
    late: bool                # the metric ran on after ``reached``
    last: int                 # its class in the last phase
    stop_from: int | None     # start of the trailing stopped run
    started: bool
    base: int                 # business position of the stop (or of the end), relative to first_yr
    first_yr: Any             # the year index positions count from


def phases_on(pos: list[int], first_yr: Any, kinds: list[int]) -> Phases:
    """The phases of classes ``kinds`` whose starts and end are at business positions ``pos``."""
    run = [0]
    paused = [0]
    r = p = 0
    prev = pos[0]
    i = 0
    for kind in kinds:
        i += 1
        nxt = pos[i]
        if kind == RUN:
            r += nxt - prev
        elif kind == PAUSE:
            p += nxt - prev
        run.append(r)
        paused.append(p)
        prev = nxt
    return _new_tuple(Phases, (pos, run, paused, first_yr))


def measure(regime: Regime, ph: Phases, starts: list[int], kinds: list[int], lo: int, hi: int, end: int,
            created_us: int, since: datetime) -> Measure:
    """The metric counted under ``regime`` over phases ``lo`` to ``hi`` (exclusive) with their ``kinds``,
    stopped from phase ``hi`` on; phases before ``lo`` do not count.  ``ph``: the phases measured on
    ``regime.cal`` up to ``end``; ``since`` names the start in an error."""
    n = len(starts)
    if hi > n:
        hi = n
    target = regime.target_us
    if lo >= n:  # never started
        if target is None:
            target = days_target(regime, max(regime.count_from, created_us))
        return _new_tuple(Measure, (0, 0, target, None, False, WAIT, None, False, ph.pos[n], ph.first_yr))
    if target is None:
        target = days_target(regime, starts[lo])
    run, pos = ph.run, ph.pos
    if hi > lo:
        elapsed = run[hi] - run[lo]
        paused = ph.paused[hi] - ph.paused[lo]
    else:
        elapsed = paused = 0
    # the trailing run of stopped phases: every phase from hi on, and stopped phases just before it
    s = hi if hi > lo else lo
    while s > lo and kinds[s - 1] == STOP:
        s -= 1
    if s < n:
        stop_from, base = starts[s], pos[s]
        last = STOP
    else:
        stop_from, base = None, pos[n]
        last = kinds[n - 1]
    reached = None
    late = False
    if elapsed >= target:
        if target > 0:  # the running phase in which the elapsed time reached the target
            i = bisect_left(run, run[lo] + target, lo + 1, hi + 1) - 1
            reached = regime.cal.earliest_at(ph.first_yr, pos[i] + run[lo] + target - run[i], since)
        else:  # a zero target is reached as the first running phase starts
            i = lo
            while i < hi and kinds[i] != RUN:
                i += 1
            if i < hi:
                reached = starts[i]
        if reached is not None:
            late = reached < (starts[i + 1] if i + 1 < n else end)
            j = i + 1
            while not late and j < hi:  # a running phase after the one that reached the target
                late = kinds[j] == RUN and (starts[j + 1] if j + 1 < n else end) > starts[j]
                j += 1
    return _new_tuple(Measure, (elapsed, paused, target, reached, late, last, stop_from, True, base, ph.first_yr))


def days_target(regime: Regime, start: int) -> int:
    """The length of a 'days' target started at ``start``: calendar days keep the wall-clock time."""
    kind, what, extra = regime.days
    begin = regime.cal.datetime_us(start)
    due = what.add(begin, extra) if kind == "calendar" else level_due(begin, what, extra)
    return epoch_us(due) - start
