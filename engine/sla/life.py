"""One ticket's life under the SLA clock: its phases, the regime each metric counts under, and the
measuring of a metric at an instant (the contract is :mod:`engine.sla.clock`'s)."""
from __future__ import annotations

from bisect import bisect_left
from typing import Any, NamedTuple

from ..calendar.business import BusinessCalendar
from ..calendar.index import epoch_us
from .clock_policy import STOP_STATUSES
from .clock_records import MetricClock, TicketClock
from .events import AGENT_REPLY, CREATED, ESCALATED, STATUS, UPDATED, Event, EventError
from .operator import level_due

_RUN, _PAUSE, _STOP, _WAIT = 0, 1, 2, 3           # a metric's class over one phase of the ticket's life
_new_tuple = tuple.__new__   # builds a named tuple from its fields in order, without its Python __new__


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



class TicketLife:
    """The state of one ticket while its events are applied: facts, decision, and the phases of its
    life (an instant and the status from then on; a reply, an escalation and a priority change also
    start a phase, so every metric's class is constant over a phase)."""

    __slots__ = ("clock", "ticket_id", "raw", "decision", "policy", "pause", "created_us", "status",
                 "starts", "statuses", "replied", "escalated", "last_change", "regimes", "sticky", "deferred",
                 "from_change")

    def __init__(self, clock: "SLAClock", ticket_id: str, ev: Event) -> None:
        self.clock = clock
        self.ticket_id = ticket_id
        raw = ev.data["ticket"]  # read, never changed: a copy only to fill in id or created_at
        if type(raw) is not dict:
            raw = dict(raw)
        given = raw.get("id")
        if given is None:
            raw = {**raw, "id": ticket_id}
        elif given != ticket_id:
            raise EventError(ev.line, ticket_id, "ticket.id", f"ticket id {given!r} is not the event's ticket_id "
                             f"{ticket_id!r}", "created")
        if "created_at" not in raw:
            raw = {**raw, "created_at": ev.at_text}
        decision = clock.triage(raw, ev, "ticket")
        created_us = epoch_us(decision.created_at)
        if created_us > ev.at_us:
            raise EventError(ev.line, ticket_id, "ticket.created_at", f"created_at {raw['created_at']} is after the "
                             f"event's at {ev.at_text}: a ticket is logged when or after it is created", "created")
        self.raw = raw
        self.decision = decision
        self.policy = clock.policy_on(decision.created_at)
        self.pause = self.policy.pause_statuses
        self.from_change = self.policy.on_priority_change == "from_change"
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
    def _wants(self) -> tuple:
        """The key of the regime each metric should count under now (None: no target)."""
        d = self.decision
        since = self.last_change if self.from_change else self.created_us
        priority, cal_id = d.priority, id(d.business_calendar)
        text = d.response_target
        first = None if text is None else (priority, text, cal_id, since)
        text = d.resolution_target
        second = None if text is None else (priority, text, cal_id, since)
        op = d.operator_sla
        if op is None:
            return first, second, None, None
        sla_id, timezone = op.sla.id, op.timezone
        return first, second, (sla_id, timezone, 2), (sla_id, timezone, 3)

    def _build(self, k: int, key: tuple) -> _Regime:
        d = self.decision
        if k < 2:
            text = key[1]
            cal, target_us, days = self.clock.meter(d.business_calendar, text)
            return _new_tuple(_Regime, (key, cal, target_us, text, key[3], days))
        op = d.operator_sla
        level = op.sla.first_level if k == 2 else op.sla.second_level
        cal, target_us, days, text = self.clock.level_meter(level, op.timezone)
        return _new_tuple(_Regime, (key, cal, target_us, text, self.created_us, days))

    def _sync(self, at: int) -> None:
        """Bring each metric's regime in line with the decision, at ``at``.  A stopped metric keeps
        its regime (it stopped under it) until it resumes (``deferred`` until then).  A regime replaced
        after a breach leaves the breach behind (``sticky``)."""
        regimes = self.regimes
        deferred = False
        classes = positions = None
        k = -1
        for want in self._wants():
            k += 1
            current = regimes[k]
            if current is None:
                if want is not None:
                    regimes[k] = self._build(k, want)
                continue
            if current.key == want:
                continue
            if self._current_class(k) == _STOP:
                deferred = True
                continue
            if classes is None:
                classes = self._classes(self._base())
                positions = {}  # business positions per calendar, shared by the metrics measured here
            m = measure(current, classes[k], self.starts, at, positions, self) if classes[k] is not None else None
            if m is not None and m.late:
                old = self.sticky[k]
                self.sticky[k] = m.reached if old is None else min(old, m.reached)
            regimes[k] = None if want is None else self._build(k, want)
        self.deferred = deferred

    # ---- events
    def apply(self, ev: Event, verbose: bool = False) -> str | None:
        """Apply one event; with ``verbose``, a note of what it did.  ``EventError`` if it is refused
        (then nothing changes)."""
        at, _, _, code, _, data = ev
        if code == STATUS:
            new = data["status"]
            if new == self.status:
                return f"status stays {new}" if verbose else None
            old, self.status = self.status, new
            starts = self.starts  # a new phase (self._split, inlined: status events are most of a log)
            if starts[-1] == at:
                self.statuses[-1] = new
            else:
                starts.append(at)
                self.statuses.append(new)
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
            decision = self.clock.triage(raw, ev, "facts")
        else:  # PRIORITY
            raw = {**self.raw, "priority_override": {"priority": ev.data["priority"], "reason": ev.data["reason"]}}
            decision = self.clock.triage(raw, ev, "priority")
        old = self.decision
        self.raw, self.decision = raw, decision
        if decision.priority != old.priority:
            self.last_change = at
            self._split(at)
            self._sync(at)
        elif not _same_regimes(old, decision):
            self._sync(at)
        # else every metric's regime key (see _wants) is unchanged: _sync would change nothing
        return retriage_note(ev, old, decision) if verbose else None

    # ---- measuring
    def _metric(self, k: int, name: str, classes: list[int] | None, end: int, positions: dict) -> MetricClock | None:
        regime = self.regimes[k]
        if regime is None:
            return None
        if classes is None:  # the 2nd level, never escalated
            target = regime.target_us
            if target is None:
                target = days_target(regime, end)
            return _new_tuple(MetricClock, (name, "not_started", regime.target, target, 0, 0, None, None,
                                            self.sticky[k], (), regime.cal))
        m = measure(regime, classes, self.starts, end, positions, self)
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
                due = cal.earliest_at(m.first_yr, m.base + target - elapsed, self.decision.created_at)
        warnings = ()
        if elapsed:
            thresholds = self.policy.warnings
            warnings = tuple([t for t in thresholds if elapsed * 100 >= t * target])
        return _new_tuple(MetricClock, (name, state, regime.target, target, elapsed, m.paused, due, stopped, breached,
                                        warnings, cal))

    def metrics_at(self, end: int) -> tuple[dict, dict | None]:
        classes = self._classes(self._base())
        positions: dict = {}
        metric = self._metric
        # a metric the ticket has no target for (a channel that promises a first reply only) is left out
        metrics = {}
        if self.regimes[0] is not None:
            metrics["first_response"] = metric(0, "first_response", classes[0], end, positions)
        if self.regimes[1] is not None:
            metrics["resolution"] = metric(1, "resolution", classes[1], end, positions)
        if self.regimes[2] is None:
            return metrics, None
        return metrics, {"first_level": metric(2, "first_level", classes[2], end, positions),
                         "second_level": metric(3, "second_level", classes[3], end, positions)}

    def finish(self, now_us: int) -> TicketClock:
        metrics, levels = self.metrics_at(now_us)
        return _new_tuple(TicketClock, (self.ticket_id, self.decision, self.status, metrics, levels, now_us,
                                        self.policy))


def measure(regime: _Regime, classes: list[int], starts: list[int], end: int, positions: dict,
             life: TicketLife) -> _Measure:
    """A metric of class ``classes[i]`` over phase ``i`` (``starts[i]`` to the next start, the last to
    ``end``), counted under ``regime``.  ``positions`` caches business positions per calendar."""
    cal = regime.cal
    found = positions.get(id(cal))
    if found is None:
        found = positions[id(cal)] = life.clock.positions(cal, starts, end)
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
                target = days_target(regime, a)
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
            reached = cal.earliest_at(first_yr, pos[i] + amount, life.decision.created_at) if amount > 0 else a
            late = reached < (starts[i + 1] if i + 1 < n else end)
        elapsed += d
    if target is None:
        target = days_target(regime, max(count_from, life.created_us))
    # where the clock would run on from: the stop, or the end
    base = pos[stop_index] if stop_from is not None else pos[n]
    return _new_tuple(_Measure, (elapsed, paused, target, reached, late, last, stop_from, started, base, first_yr))


def days_target(regime: _Regime, start: int) -> int:
    """The length of a 'days' target started at ``start``: calendar days keep the wall-clock time."""
    kind, what, extra = regime.days
    begin = regime.cal.datetime_us(start)
    due = what.add(begin, extra) if kind == "calendar" else level_due(begin, what, extra)
    return epoch_us(due) - start


def _same_regimes(old, new) -> bool:
    """Whether two decisions of the same priority give every metric the same regime key."""
    if new.response_target != old.response_target or new.resolution_target != old.resolution_target \
            or new.business_calendar is not old.business_calendar:
        return False
    a, b = old.operator_sla, new.operator_sla
    if a is None or b is None:
        return a is b
    return a.sla.id == b.sla.id and a.timezone == b.timezone


def retriage_note(ev: Event, old, decision) -> str:
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

