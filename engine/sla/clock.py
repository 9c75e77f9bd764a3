"""The SLA clock over a ticket's life, and the queue of open tickets.

Input is an event log (see :mod:`engine.sla.events`); output, at an instant ``now``, one
:class:`TicketClock` per ticket with four metrics.  The contract (the README's "SLA clock and queue"
says the same for users):

* Events of one ticket apply in ``at`` order, ties in input order; the order across tickets does
  not matter.  Events after ``now`` are ignored, so the clock at ``now`` is the clock of the log cut
  at ``now``: the same log and ``now`` always give the same result.
* A ticket is triaged by the evaluator at ``created`` and again at every ``updated`` and ``priority``
  event (a ``priority`` event sets the ticket's ``priority_override``, so it wins over later
  re-triage, as an override does).  Its targets and calendar are the decision's.
* ``first_response`` runs from creation and stops at the first ``agent_reply``, or while the ticket
  is solved or closed if no reply came (reopening resumes it).  ``resolution`` runs from creation
  and stops while the ticket is solved or closed; reopening (open, pending or on_hold) resumes it and
  the time while it was solved does not count.  Operator levels (tickets with a location):
  ``first_level`` stops at ``escalated`` (for good) or while solved; ``second_level`` runs from
  ``escalated`` and stops while solved.  Every metric pauses while the status is one of the
  SLAClock's pause statuses.
* Time counts as business time on the calendar the target is on: the decision's calendar for
  ``business_*`` targets; elapsed time in that calendar's zone for ``minutes``/``hours``; for
  ``days``, elapsed time whose length is that of the calendar days from the metric's start.  Operator
  levels count on the operator's clock of :mod:`engine.sla.operator` (elapsed time, or Monday-Friday
  time in the location's zone).
* A metric is ``breached`` once it has run past its target: elapsed time reached the target at
  ``breached_at`` and the metric was still running after that instant.  A metric stopped at exactly
  its target is ``met``.  A breach is final: a later priority change never clears it.
* On a priority change, ``from_creation`` (the default) counts the new targets from creation, over
  the same pauses, so a raise can breach retroactively; ``from_change`` counts them from the change.
  A stopped metric keeps the target it stopped under; if it resumes, it takes the current one.
* ``due`` is the instant the target is reached if the clock runs from now on (from the stop for a
  stopped metric) without further pauses; for a metric past its target it is the instant it was
  reached.  ``remaining`` is target minus elapsed and goes negative once past the target.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right, insort
from datetime import UTC, datetime
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple

from ..calendar.business import _BUSINESS, _ELAPSED, HORIZON_YEARS, BusinessCalendar
from ..calendar.duration import Duration
from ..calendar.index import epoch_us
from ..core.errors import TicketError, TriageError
from ..facts.reader import TicketInput
from ..policy.schemas import did_you_mean
from .clock_policy import STOP_STATUSES, ClockPolicies, ClockPolicy
from .events import AGENT_REPLY, CREATED, ESCALATED, EVENT_TYPES, MAX_ID_LENGTH, STATUS, UPDATED, Event, \
    EventError, parse_event
from .operator import _clock, level_due

METRICS = ("first_response", "resolution")
LEVELS = ("first_level", "second_level")
PRIORITY_ORDER = ("P1", "P2", "P3", "P4")

_RUN, _PAUSE, _STOP, _WAIT = 0, 1, 2, 3           # a metric's class over one phase of the ticket's life
_US_PER_YEAR = 31_556_952_000_000                  # mean Gregorian year: a year hint for the calendar index
_NEVER = 1 << 62
_new_tuple = tuple.__new__   # builds a named tuple from its fields in order, without its Python __new__


def _year_hint(us: int) -> int:
    return 1970 + us // _US_PER_YEAR


def _seconds(us: int) -> int:
    """Whole seconds, truncated toward zero."""
    return us // 1_000_000 if us >= 0 else -(-us // 1_000_000)


def _positions(cal: BusinessCalendar, starts: list[int], end: int) -> tuple[list[int], Any]:
    """Business positions on ``cal`` of the ascending instants ``starts`` and then ``end``, relative to
    the start of the year index of ``starts[0]`` (returned too): the business time from ``a`` to ``b`` is
    ``pos[b] - pos[a]``.  (``YearIndex.position``, inlined: this runs for every phase of every ticket.)"""
    first = starts[0]
    yr = first_yr = cal._locate(first, _year_hint(first))
    year_starts, ends, cum, year_end = yr.starts, yr.ends, yr.cum, yr.end_us
    offset = 0
    out = []
    for us in starts + [end]:
        while us >= year_end:
            offset += yr.total
            yr = cal._year(yr.year + 1)
            year_starts, ends, cum, year_end = yr.starts, yr.ends, yr.cum, yr.end_us
        i = bisect_right(year_starts, us) - 1
        if i < 0:
            out.append(offset)
        else:
            close = ends[i]
            out.append(offset + (cum[i] - (close - us) if us < close else cum[i]))
    return out, first_yr


def _earliest(cal: BusinessCalendar, yr, position: int, since: datetime) -> int:
    """The earliest instant at business ``position`` > 0, counted from the start of year index ``yr``
    (``YearIndex.earliest`` across years; a closing boundary is that closing time)."""
    empty = 0
    while position > yr.total:
        position -= yr.total
        empty = empty + 1 if yr.total == 0 else 0
        if empty >= HORIZON_YEARS:  # let the calendar say it has no open time
            return cal._forward(yr.start_us, yr.year, position, since)
        yr = cal._year(yr.year + 1)
    cum = yr.cum
    i = bisect_left(cum, position)
    return yr.ends[i] - (cum[i] - position)


class _Regime(NamedTuple):
    """What a metric counts against: a target on a calendar, from an instant."""

    key: tuple
    cal: BusinessCalendar     # the calendar time counts on
    target_us: int | None     # None: a 'days' target, whose length depends on where the metric starts
    target: str               # as written, e.g. "4 business_hours", "24 hours (weekdays only)"
    count_from: int           # epoch microseconds: time before this does not count
    days: tuple | None        # how to measure a 'days' target: ("calendar", cal, Duration) | ("level", Level, tz)


class _Measure(NamedTuple):
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


class MetricClock(NamedTuple):
    """One metric of one ticket at ``now``.  Instants are epoch microseconds (``*_us``) with
    datetime properties in the zone of the calendar the metric counts on.  (A named tuple: one is
    built per metric per ticket.)"""

    name: str
    state: str                 # active | paused | met | breached | not_started
    target: str                # as written, e.g. "4 business_hours"
    target_us: int             # the target in microseconds of counted time
    elapsed_us: int
    paused_us: int
    due_us: int | None
    stopped_us: int | None
    breached_us: int | None
    warnings: tuple
    cal: Any                   # the BusinessCalendar time counts on

    @property
    def running(self) -> bool:
        """Started and not stopped (active, paused, or breached and still running)."""
        return self.stopped_us is None and self.state != "not_started"

    @property
    def paused(self) -> bool:
        return self.state == "paused"

    @property
    def remaining_us(self) -> int:
        return self.target_us - self.elapsed_us

    @property
    def percent(self) -> float:
        return round(self.elapsed_us * 100 / self.target_us, 1) if self.target_us > 0 else 100.0

    def _dt(self, us: int | None) -> datetime | None:
        return None if us is None else self.cal._from_us(us)

    @property
    def due(self) -> datetime | None:
        return self._dt(self.due_us)

    @property
    def stopped_at(self) -> datetime | None:
        return self._dt(self.stopped_us)

    @property
    def breached_at(self) -> datetime | None:
        return self._dt(self.breached_us)

    def to_dict(self) -> dict:
        iso = self._iso
        return {"state": self.state, "target": self.target, "due": iso(self.due_us),
                "stopped_at": iso(self.stopped_us), "breached_at": iso(self.breached_us),
                "elapsed_seconds": _seconds(self.elapsed_us), "paused_seconds": _seconds(self.paused_us),
                "remaining_seconds": _seconds(self.remaining_us), "percent": self.percent,
                "warnings": list(self.warnings)}

    def _iso(self, us: int | None) -> str | None:
        return None if us is None else self.cal._from_us(us).isoformat()

    def __repr__(self) -> str:
        return f"<MetricClock {self.name} {self.state} {_seconds(self.elapsed_us)}s of {self.target}>"


class TicketClock(NamedTuple):
    """One ticket's SLA clock at ``now``: its decision, status and metrics."""

    ticket_id: str
    decision: Any                                  # the Decision of the latest (re-)triage
    status: str
    metrics: dict                                  # first_response, resolution -> MetricClock (or None)
    levels: dict | None                            # first_level, second_level; None without an operator SLA
    now_us: int
    clock_policy: ClockPolicy

    priority = property(lambda self: self.decision.priority)
    rules_priority = property(lambda self: self.decision.rules_priority)
    created_at = property(lambda self: self.decision.created_at)
    review = property(lambda self: getattr(self.decision, "review", None))

    @property
    def now(self) -> datetime:
        return self.decision.business_calendar._from_us(self.now_us)

    @property
    def is_open(self) -> bool:
        return self.status not in STOP_STATUSES

    def all_metrics(self) -> list[MetricClock]:
        found = [m for m in self.metrics.values() if m is not None]
        return found + list(self.levels.values()) if self.levels else found

    def next_due(self) -> tuple[bool, int | None]:
        """(all running metrics paused, earliest due among the running metrics that are not paused
        - or among the paused ones when all are): the queue's 2nd and 3rd keys."""
        running = [m for m in self.all_metrics() if m.running and m.due_us is not None]
        moving = [m.due_us for m in running if not m.paused]
        if moving:
            return False, min(moving)
        return True, min((m.due_us for m in running), default=None)

    def queue_key(self) -> tuple:
        """Most urgent first: priority (P1 first); tickets with a running, unpaused metric before those
        whose running metrics are all paused; earliest due; created_at; ticket id."""
        all_paused, due = self.next_due()
        rank = PRIORITY_ORDER.index(self.priority) if self.priority in PRIORITY_ORDER else len(PRIORITY_ORDER)
        return (rank, all_paused, _NEVER if due is None else due, epoch_us(self.decision.created_at), self.ticket_id)

    def to_dict(self) -> dict:
        d = self.decision
        review = self.review
        if review is not None and hasattr(review, "to_dict"):
            review = review.to_dict()
        policy = d.policy
        documents = list(policy["documents"])
        if self.clock_policy.label:
            documents.append(self.clock_policy.label)
        out = {
            "ticket_id": self.ticket_id,
            "created_at": d.created_at.isoformat(),
            "now": self.now.isoformat(),
            "priority": d.priority,
            "rules_priority": d.rules_priority,
            "status": self.status,
            "review": review,
            "calendar": d.calendar,
            "metrics": {name: (m.to_dict() if m is not None else None) for name, m in self.metrics.items()},
            "operator_sla": None,
            "policy": {"digest": policy["digest"], "revision": policy["revision"], "documents": documents},
        }
        if self.levels is not None:
            op = d.operator_sla
            out["operator_sla"] = {"id": op.sla.id, "name": op.sla.name, "location_id": op.location_id,
                                   "flagged": op.flagged, "timezone": op.timezone,
                                   **{name: m.to_dict() for name, m in self.levels.items()}}
        return out

    def __repr__(self) -> str:
        return f"<TicketClock {self.ticket_id} {self.priority} {self.status}>"


class TimelineEntry(NamedTuple):
    """One event of a ticket as the clock applied it: what it did (``note``) or why it was refused
    (``error``), and every metric right after it (``metrics``: name -> MetricClock)."""

    event: Event
    note: str | None
    error: EventError | None
    metrics: dict


class Timeline(NamedTuple):
    ticket_id: str
    entries: list[TimelineEntry]
    clock: TicketClock | None
    error: EventError | None      # why the ticket could not be clocked at all
    unread: list                  # EventErrors of events too malformed to place in time (bad at, type, fields)


class Queue(list):
    """The queue: open tickets' ``TicketClock``s most urgent first, then ``EventError``s; ``done`` counts
    the tickets left out because they are solved or closed."""

    def __init__(self, items: Iterable = (), done: int = 0) -> None:
        super().__init__(items)
        self.done = done


# --------------------------------------------------------------------------- one ticket's life
class _Life:
    """The state of one ticket while its events are applied: facts, decision, and the phases of its
    life (an instant and the status from then on; a reply, an escalation and a priority change also
    start a phase, so every metric's class is constant over a phase)."""

    __slots__ = ("clock", "ticket_id", "raw", "decision", "policy", "pause", "created_us", "status",
                 "starts", "statuses", "replied", "escalated", "last_change", "regimes", "sticky", "deferred")

    def __init__(self, clock: "SLAClock", ticket_id: str, ev: Event) -> None:
        self.clock = clock
        self.ticket_id = ticket_id
        raw = dict(ev.data["ticket"])
        given = raw.get("id")
        if given is None:
            raw["id"] = ticket_id
        elif given != ticket_id:
            raise EventError(ev.line, ticket_id, "ticket.id", f"ticket id {given!r} is not the event's ticket_id "
                             f"{ticket_id!r}", "created")
        if "created_at" not in raw:
            raw["created_at"] = ev.at_text
        decision = clock._triage(raw, ev, "ticket")
        created_us = epoch_us(decision.created_at)
        if created_us > ev.at_us:
            raise EventError(ev.line, ticket_id, "ticket.created_at", f"created_at {raw['created_at']} is after the "
                             f"event's at {ev.at_text}: a ticket is logged when or after it is created", "created")
        self.raw = raw
        self.decision = decision
        self.policy = clock._policy_on(decision.created_at)
        self.pause = self.policy.pause_statuses
        self.created_us = self.last_change = created_us
        self.status = "open"
        self.starts = [created_us]
        self.statuses = ["open"]
        self.replied = self.escalated = None
        self.regimes: list[_Regime | None] = [None, None, None, None]
        self.sticky: list[int | None] = [None, None, None, None]
        self.deferred = False
        self._sync(created_us)

    # ---- phases
    def _split(self, at: int) -> None:
        """Start a phase at ``at`` with the current status (or restate the one starting there)."""
        if self.starts[-1] == at:
            self.statuses[-1] = self.status
        else:
            self.starts.append(at)
            self.statuses.append(self.status)

    def _classes(self, base: list[int]) -> list[list[int] | None]:
        """Each metric's class over each phase, from ``base`` (the class by status alone);
        None for the 2nd level before any escalation."""
        starts = self.starts
        replied, escalated = self.replied, self.escalated
        n = len(starts)
        first = base if replied is None else base[:bisect_left(starts, replied)]
        first = first + [_STOP] * (n - len(first))
        if escalated is None:
            return [first, base, base, None]
        i = bisect_left(starts, escalated)
        return [first, base, base[:i] + [_STOP] * (n - i), [_WAIT] * i + base[i:]]

    def _base(self) -> list[int]:
        pause = self.pause
        return [_STOP if s in STOP_STATUSES else _PAUSE if s in pause else _RUN for s in self.statuses]

    def _current_class(self, k: int) -> int:
        s = self.status
        if k == 3 and self.escalated is None:
            return _WAIT
        if s in STOP_STATUSES or (k == 0 and self.replied is not None) or (k == 2 and self.escalated is not None):
            return _STOP
        return _PAUSE if s in self.pause else _RUN

    # ---- regimes
    def _want(self, k: int) -> tuple | None:
        d = self.decision
        if k < 2:
            text = d.response_target if k == 0 else d.resolution_target
            if text is None:
                return None
            since = self.last_change if self.policy.on_priority_change == "from_change" else self.created_us
            return (d.priority, text, id(d.business_calendar), since)
        op = d.operator_sla
        return None if op is None else (op.sla.id, op.timezone, k)

    def _build(self, k: int, key: tuple) -> _Regime:
        d = self.decision
        if k < 2:
            text = key[1]
            cal, target_us, days = self.clock._meter(d.business_calendar, text)
            return _new_tuple(_Regime, (key, cal, target_us, text, key[3], days))
        op = d.operator_sla
        level = op.sla.first_level if k == 2 else op.sla.second_level
        cal, target_us, days, text = self.clock._level_meter(level, op.timezone)
        return _new_tuple(_Regime, (key, cal, target_us, text, self.created_us, days))

    def _sync(self, at: int) -> None:
        """Bring each metric's regime in line with the decision, at ``at``.  A stopped metric keeps
        its regime (it stopped under it) until it resumes (``deferred`` until then).  A regime replaced
        after a breach leaves the breach behind (``sticky``)."""
        regimes = self.regimes
        deferred = False
        classes = None
        for k in range(4):
            want = self._want(k)
            current = regimes[k]
            if (current.key if current is not None else None) == want:
                continue
            if current is not None:
                if self._current_class(k) == _STOP:
                    deferred = True
                    continue
                if classes is None:
                    classes = self._classes(self._base())
                m = _measure(current, classes[k], self.starts, at, {}, self) if classes[k] is not None else None
                if m is not None and m.late:
                    old = self.sticky[k]
                    self.sticky[k] = m.reached if old is None else min(old, m.reached)
            regimes[k] = None if want is None else self._build(k, want)
        self.deferred = deferred

    # ---- events
    def apply(self, ev: Event, verbose: bool = False) -> str | None:
        """Apply one event; with ``verbose``, a note of what it did.  ``EventError`` if it is refused
        (then nothing changes)."""
        code, at = ev.code, ev.at_us
        if code == STATUS:
            new = ev.data["status"]
            if new == self.status:
                return f"status stays {new}" if verbose else None
            old, self.status = self.status, new
            self._split(at)
            if self.deferred:
                self._sync(at)
            return f"status {old} -> {new}" if verbose else None
        if code == AGENT_REPLY:
            if self.replied is not None:
                return "reply (not the first: first_response is already stopped)" if verbose else None
            self.replied = at
            self._split(at)
            return "first public reply by support" if verbose else None
        if code == ESCALATED:
            if self.escalated is not None:
                return "escalated again (the first escalation counts)" if verbose else None
            self.escalated = at
            self._split(at)
            if not verbose:
                return None
            op = self.decision.operator_sla
            return f"escalated to the 2nd level of operator SLA {op.sla.id}" if op else \
                "escalated (no location yet, so no operator SLA applies so far)"
        if code == CREATED:
            raise EventError(ev.line, self.ticket_id, "type", f"ticket {self.ticket_id} is already created", "created")
        if code == UPDATED:
            raw = {**self.raw, **ev.data["facts"]}
            decision = self.clock._triage(raw, ev, "facts")
        else:  # PRIORITY
            raw = {**self.raw, "priority_override": {"priority": ev.data["priority"], "reason": ev.data["reason"]}}
            decision = self.clock._triage(raw, ev, "priority")
        old = self.decision
        self.raw, self.decision = raw, decision
        if decision.priority != old.priority:
            self.last_change = at
            self._split(at)
        self._sync(at)
        return _retriage_note(ev, old, decision) if verbose else None

    # ---- measuring
    def _metric(self, k: int, name: str, classes: list[int] | None, end: int, positions: dict) -> MetricClock | None:
        regime = self.regimes[k]
        if regime is None:
            return None
        if classes is None:  # the 2nd level, never escalated
            target = regime.target_us
            if target is None:
                target = _days_target(regime, end)
            return _new_tuple(MetricClock, (name, "not_started", regime.target, target, 0, 0, None, None,
                                            self.sticky[k], (), regime.cal))
        m = _measure(regime, classes, self.starts, end, positions, self)
        target, elapsed, cal = m.target, m.elapsed, regime.cal
        breached = m.reached if m.late else None
        sticky = self.sticky[k]
        if sticky is not None:
            breached = sticky if breached is None else min(breached, sticky)
        stopped = m.stop_from if m.last == _STOP else None
        if not m.started:
            state, due = "not_started", None
        else:
            if stopped is not None:
                state = "met" if breached is None else "breached"
            elif breached is not None:
                state = "breached"
            else:
                state = "paused" if m.last == _PAUSE else "active"
            if elapsed >= target:
                due = m.reached if m.reached is not None else (end if stopped is None else stopped)
            else:
                due = _earliest(cal, m.first_yr, m.base + target - elapsed, self.decision.created_at)
        warnings = ()
        if elapsed:
            thresholds = self.policy.warnings
            warnings = tuple(t for t in thresholds if elapsed * 100 >= t * target)
        return _new_tuple(MetricClock, (name, state, regime.target, target, elapsed, m.paused, due, stopped, breached,
                                        warnings, cal))

    def metrics_at(self, end: int) -> tuple[dict, dict | None]:
        classes = self._classes(self._base())
        positions: dict = {}
        metric = self._metric
        metrics = {"first_response": metric(0, "first_response", classes[0], end, positions),
                   "resolution": metric(1, "resolution", classes[1], end, positions)}
        if self.regimes[2] is None:
            return metrics, None
        return metrics, {"first_level": metric(2, "first_level", classes[2], end, positions),
                         "second_level": metric(3, "second_level", classes[3], end, positions)}

    def finish(self, now_us: int) -> TicketClock:
        metrics, levels = self.metrics_at(now_us)
        return _new_tuple(TicketClock, (self.ticket_id, self.decision, self.status, metrics, levels, now_us,
                                        self.policy))


def _measure(regime: _Regime, classes: list[int], starts: list[int], end: int, positions: dict,
             life: _Life) -> _Measure:
    """A metric of class ``classes[i]`` over phase ``i`` (``starts[i]`` to the next start, the last to
    ``end``), counted under ``regime``.  ``positions`` caches business positions per calendar."""
    cal = regime.cal
    found = positions.get(id(cal))
    if found is None:
        found = positions[id(cal)] = _positions(cal, starts, end)
    pos, first_yr = found
    count_from = regime.count_from
    target = regime.target_us
    elapsed = paused = 0
    reached = stop_from = None
    stop_index = 0
    late = started = False
    last = _WAIT
    n = len(starts)
    for i in range(n):
        cls = classes[i]
        if cls == _WAIT:
            continue
        a = starts[i]
        if a < count_from:
            continue
        if not started:
            started = True
            if target is None:
                target = _days_target(regime, a)
        last = cls
        if cls == _STOP:
            if stop_from is None:
                stop_from, stop_index = a, i
            continue
        stop_from = None
        d = pos[i + 1] - pos[i]
        if cls == _PAUSE:
            paused += d
            continue
        if reached is not None:
            if (starts[i + 1] if i + 1 < n else end) > a:
                late = True
        elif elapsed + d >= target:
            amount = target - elapsed
            reached = _earliest(cal, first_yr, pos[i] + amount, life.decision.created_at) if amount > 0 else a
            late = reached < (starts[i + 1] if i + 1 < n else end)
        elapsed += d
    if target is None:
        target = _days_target(regime, max(count_from, life.created_us))
    # where the clock would run on from: the stop, or the end
    base = pos[stop_index] if stop_from is not None else pos[n]
    return _new_tuple(_Measure, (elapsed, paused, target, reached, late, last, stop_from, started, base, first_yr))


def _days_target(regime: _Regime, start: int) -> int:
    """The length of a 'days' target started at ``start``: calendar days keep the wall-clock time."""
    kind, what, extra = regime.days
    begin = regime.cal._from_us(start)
    due = what.add(begin, extra) if kind == "calendar" else level_due(begin, what, extra)
    return epoch_us(due) - start


def _retriage_note(ev: Event, old, decision) -> str:
    if ev.code == UPDATED:
        note = f"facts updated ({', '.join(sorted(ev.data['facts'])) or 'nothing'}); triaged again"
    else:
        note = f"re-prioritised by the team to {ev.data['priority']}: {ev.data['reason']}"
    if decision.priority != old.priority:
        note += f"; priority {old.priority} -> {decision.priority}"
    else:
        note += f"; priority stays {decision.priority}"
    before, after = old.operator_sla, decision.operator_sla
    if (before is None) != (after is None) or (after is not None and before.sla.id != after.sla.id):
        note += f"; operator SLA now {after.sla.id}" if after else "; no operator SLA now"
    return note


# --------------------------------------------------------------------------- the log
class SLAClock:
    """Clocks an event log against a policy set (``evaluate``: the policy set's evaluate)."""

    def __init__(self, evaluate: Callable[[Any], Any], documents: Iterable) -> None:
        self._evaluate = evaluate
        self._policies = ClockPolicies(documents)
        self._meters: dict = {}
        self._by_day: dict = {}

    # ---- helpers used by _Life
    def _policy_on(self, created_at: datetime) -> ClockPolicy:
        """The SLAClock in effect on ``created_at``'s date as written (remembered per date)."""
        day = created_at.date()
        found = self._by_day.get(day)
        if found is None:
            found = self._by_day[day] = self._policies.at(day.isoformat())
        return found

    def _triage(self, raw: dict, ev: Event, where: str):
        try:
            return self._evaluate(raw)
        except TicketError as exc:
            problems = exc.problems
            first = problems[0] if problems else None
            if where == "priority":
                field = "priority"
            else:
                field = f"{where}.{first.field}" if first is not None and first.field else where
            message = first.message if first is not None else str(exc)
            raise EventError(ev.line, raw.get("id") if isinstance(raw.get("id"), str) else None, field, message,
                             EVENT_TYPES[ev.code], problems) from None
        except TriageError as exc:
            raise EventError(ev.line, None, "priority" if where == "priority" else where, str(exc),
                             EVENT_TYPES[ev.code]) from None

    def _meter(self, calendar: BusinessCalendar, text: str) -> tuple:
        """(calendar time counts on, target in microseconds or None, days) for a target duration."""
        key = (id(calendar), text)
        found = self._meters.get(key)
        if found is None:
            duration = Duration.parse(text)
            kind, amount = calendar._resolve(duration, False)
            if kind == _BUSINESS:
                found = (calendar, amount, None)
            elif kind == _ELAPSED:
                found = (_clock(calendar.timezone, False), amount, None)
            else:
                found = (_clock(calendar.timezone, False), None, ("calendar", calendar, duration))
            self._meters[key] = (calendar, found)  # the calendar is kept so that its id stays its own
        else:
            found = found[1]
        return found

    def _level_meter(self, level, timezone: str) -> tuple:
        """The same for an operator level, on the operator's clock of :mod:`engine.sla.operator`."""
        key = (id(level), timezone)
        found = self._meters.get(key)
        if found is None or found[0] is not level:
            if level.weekdays_only:
                cal = _clock(timezone, True)
                meter = (cal, cal._resolve(level.counted, False)[1], None, str(level))
            elif level.within.unit in ("minutes", "hours"):
                meter = (_clock(timezone, False), level.within.microseconds(), None, str(level))
            else:
                meter = (_clock(timezone, False), None, ("level", level, timezone), str(level))
            found = self._meters[key] = (level, meter)  # the level is kept so that its id stays its own
        return found[1]

    # ---- reading
    def _read(self, events: Iterable[Any], now_us: int):
        """(errors naming no ticket, {ticket_id: [positions, event, event, ...]}, lines) with tickets in
        order of first appearance.  Events are only grouped here and read per ticket (:meth:`_parse`):
        the whole log is held until its end, so per event it keeps one reference and its position in
        the input (an ``array``, no int objects), and ``lines`` only where a line is not position + 1."""
        loose: list[EventError] = []
        tickets: dict[str, list] = {}
        lines: dict[int, int] = {}
        get = tickets.get
        for seq, item in enumerate(events):
            if type(item) is TicketInput:
                line = item.line
                if item.error is not None:
                    loose.append(EventError(line, None, None, item.error))
                    continue
                raw = item.ticket
                if line != seq + 1:
                    lines[seq] = line
            else:
                line, raw = seq + 1, item
            if type(raw) is not dict and isinstance(raw, Mapping):
                raw = dict(raw)
            ticket_id = raw.get("ticket_id") if type(raw) is dict else None
            if type(ticket_id) is not str or not ticket_id or len(ticket_id) > MAX_ID_LENGTH:
                try:
                    parse_event(raw, line, seq, now_us)  # names the problem (or the event is after now)
                except EventError as exc:
                    loose.append(exc)
                continue
            entry = get(ticket_id)
            if entry is None:
                tickets[ticket_id] = [array("q", (seq,)), raw]
            else:
                entry[0].append(seq)
                entry.append(raw)
        return loose, tickets, lines

    @staticmethod
    def _parse(entry: list, lines: dict, now_us: int) -> tuple[list[Event], list[EventError]]:
        """A ticket's events up to ``now_us``, in ``at`` order (ties in input order), and the refused ones."""
        events: list[Event] = []
        errors: list[EventError] = []
        append = events.append
        positions = entry[0]
        for i, seq in enumerate(positions, 1):
            try:
                found = parse_event(entry[i], lines.get(seq, seq + 1) if lines else seq + 1, seq, now_us)
            except EventError as exc:
                errors.append(exc)
                continue
            if found is not None:
                append(found[1])
        events.sort()
        return events, errors

    def _life(self, ticket_id: str, events: list[Event], errors: list, timeline: list | None):
        """(_Life or None, EventError for the ticket or None); ``events`` sorted; refused events go to
        ``errors``."""
        if not events:
            return None, None
        first = 0
        if events[0].code != CREATED:  # events before the 'created' one, or no 'created' at all
            first = next((i for i, ev in enumerate(events) if ev.code == CREATED), len(events))
            created = events[first] if first < len(events) else None
            for ev in events[:first]:
                if created is None:
                    error = EventError(ev.line, ticket_id, "ticket_id", f"unknown ticket {ticket_id!r}: no 'created' "
                                       "event for it (up to now)", ev.type)
                else:
                    error = EventError(ev.line, ticket_id, "at", f"{ev.type} event at {ev.at_text} is before the "
                                       f"ticket's 'created' event (line {created.line}, at {created.at_text})",
                                       ev.type)
                insort(errors, error, key=_line)
                if timeline is not None:
                    timeline.append(TimelineEntry(ev, None, error, {}))
            if created is None:
                return None, None
        ev = events[first]
        try:
            life = _Life(self, ticket_id, ev)
        except TriageError as exc:
            if isinstance(exc, EventError):
                failure = exc
                failure.ticket_id = ticket_id
            else:
                failure = EventError(ev.line, ticket_id, "at", str(exc), "created")
            if timeline is not None:
                timeline.append(TimelineEntry(ev, None, failure, {}))
            return None, failure
        if timeline is not None:
            timeline.append(TimelineEntry(ev, _created_note(life), None, _flat(life, ev.at_us)))
        apply = life.apply
        verbose = timeline is not None
        for ev in events[first + 1:]:
            try:
                note = apply(ev, verbose)
            except TriageError as exc:
                if not isinstance(exc, EventError):
                    exc = EventError(ev.line, ticket_id, "at", str(exc), ev.type)
                exc.ticket_id = ticket_id
                insort(errors, exc, key=_line)
                if verbose:
                    timeline.append(TimelineEntry(ev, None, exc, _flat(life, ev.at_us)))
                continue
            if verbose:
                timeline.append(TimelineEntry(ev, note, None, _flat(life, ev.at_us)))
        return life, None

    def run(self, events: Iterable[Any], now: datetime) -> Iterator[TicketClock | EventError]:
        """Every ticket's clock at ``now``, each preceded by the errors of its events (in line order);
        errors that name no ticket come first.  Tickets in order of first appearance.  Lazy, but the
        whole log is read before the first ticket (a ticket's events may be anywhere in it)."""
        return self._run(events, _now_us(now))

    def _run(self, events: Iterable[Any], now_us: int) -> Iterator[TicketClock | EventError]:
        loose, tickets, lines = self._read(events, now_us)
        yield from loose
        parse = self._parse
        for ticket_id, entry in tickets.items():
            events_of, errors = parse(entry, lines, now_us)
            life, failure = self._life(ticket_id, events_of, errors, None)
            yield from errors
            if failure is not None:
                yield failure
                continue
            if life is None:
                continue
            try:
                yield life.finish(now_us)
            except TriageError as exc:
                yield EventError(None, ticket_id, None, str(exc))

    def queue(self, events: Iterable[Any], now: datetime) -> "Queue":
        """Tickets not solved or closed at ``now``, most urgent first (see :meth:`TicketClock.queue_key`);
        then the errors."""
        clocks: list = []
        errors: list = []
        done = 0
        for item in self._run(events, _now_us(now)):
            if isinstance(item, TicketClock):
                if item.is_open:
                    clocks.append(item)
                else:
                    done += 1
            else:
                errors.append(item)
        clocks.sort(key=TicketClock.queue_key)
        return Queue(clocks + errors, done)

    def timeline(self, events: Iterable[Any], ticket_id: str, now: datetime) -> Timeline:
        """One ticket's events as the clock applied them, with every metric after each; ``TriageError``
        (with a suggestion) if the log has no event for ``ticket_id``."""
        now_us = _now_us(now)
        _, tickets, lines = self._read(events, now_us)
        events_of, errors = self._parse(tickets[ticket_id], lines, now_us) if ticket_id in tickets else ([], [])
        if not events_of and not errors:
            known = [t for t, entry in tickets.items() if any(self._parse(entry, lines, now_us))]
            hint, _ = did_you_mean(ticket_id, known)
            raise TriageError(f"no event for ticket {ticket_id!r} up to {now.isoformat()}{hint}")
        unread = list(errors)
        entries: list[TimelineEntry] = []
        life, failure = self._life(ticket_id, events_of, list(errors), entries)
        clock = life.finish(now_us) if life is not None else None
        return Timeline(ticket_id, entries, clock, failure, unread)


def _line(error: EventError) -> int:
    return error.line or 0


def _created_note(life: _Life) -> str:
    d = life.decision
    why = f"by the team: {d.override.get('reason', '')}" if d.override else \
        (f"by rule {d.decided_by}" if d.decided_by else "the policy's default")
    note = f"triaged {d.priority} ({why}) on calendar {d.calendar}"
    if d.operator_sla is not None:
        note += f"; operator SLA {d.operator_sla.sla.id} for location {d.operator_sla.location_id}"
    return note


def _flat(life: _Life, at: int) -> dict:
    metrics, levels = life.metrics_at(at)
    return {**metrics, **(levels or {})}


def _now_us(now: datetime) -> int:
    if not isinstance(now, datetime):
        raise TriageError(f"now must be a datetime, not {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise TriageError(f"now must be timezone-aware, got {now.isoformat()}")
    return epoch_us(now)


def current_time(now: datetime | None = None) -> datetime:
    """``now`` itself, or the current time (UTC) when None."""
    return datetime.now(UTC) if now is None else now
