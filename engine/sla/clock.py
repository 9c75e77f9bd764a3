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

from bisect import insort
from datetime import UTC, datetime
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from ..calendar.business import _BUSINESS, _ELAPSED, BusinessCalendar
from ..calendar.duration import Duration
from ..calendar.index import epoch_us
from ..core.errors import TicketError, TriageError
from ..facts.reader import TicketInput
from ..policy.schemas import did_you_mean
from .clock_policy import DEFAULT, STOP_STATUSES, ClockPolicies, ClockPolicy
from .events import AGENT_REPLY, CREATED, ESCALATED, EVENT_TYPES, PRIORITY, STATUS, UPDATED, Event, EventError, \
    parse_event
from .operator import _clock, level_due

METRICS = ("first_response", "resolution")
LEVELS = ("first_level", "second_level")
PRIORITY_ORDER = ("P1", "P2", "P3", "P4")

_RUN, _PAUSE, _STOP, _WAIT = 0, 1, 2, 3           # a metric's class over one phase of the ticket's life
_US_PER_YEAR = 31_556_952_000_000                  # mean Gregorian year: a year hint for the calendar index
_NEVER = 1 << 62


def _year_hint(us: int) -> int:
    return 1970 + us // _US_PER_YEAR


def _seconds(us: int) -> int:
    """Whole seconds, truncated toward zero."""
    return us // 1_000_000 if us >= 0 else -(-us // 1_000_000)


def _positions(cal: BusinessCalendar, points: list[int]) -> list[int]:
    """Business positions of ascending instants ``points`` on ``cal`` (relative to one year start):
    the business time from ``a`` to ``b`` is then ``pos[b] - pos[a]``, one bisection per point."""
    yr = cal._locate(points[0], _year_hint(points[0]))
    offset = 0
    out = []
    for us in points:
        while us >= yr.end_us:
            offset += yr.total
            yr = cal._year(yr.year + 1)
        out.append(offset + yr.position(us))
    return out


def _forward(cal: BusinessCalendar, us: int, amount: int) -> int:
    """The earliest instant at which ``amount`` > 0 of business time has elapsed on ``cal`` from ``us``."""
    return cal._forward(us, _year_hint(us), amount, datetime.fromtimestamp(us // 1_000_000, UTC))


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


class MetricClock:
    """One metric of one ticket at ``now``.  Instants are epoch microseconds (``*_us``) with
    datetime properties in the zone of the calendar the metric counts on."""

    __slots__ = ("name", "state", "target", "target_us", "elapsed_us", "paused_us", "due_us", "stopped_us",
                 "breached_us", "warnings", "cal")

    def __init__(self, name, state, target, target_us, elapsed_us, paused_us, due_us, stopped_us, breached_us,
                 warnings, cal) -> None:
        self.name, self.state, self.target, self.target_us = name, state, target, target_us
        self.elapsed_us, self.paused_us, self.due_us = elapsed_us, paused_us, due_us
        self.stopped_us, self.breached_us, self.warnings, self.cal = stopped_us, breached_us, warnings, cal

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


class TicketClock:
    """One ticket's SLA clock at ``now``: its decision, status and metrics."""

    __slots__ = ("ticket_id", "decision", "status", "metrics", "levels", "now_us", "clock_policy")

    def __init__(self, ticket_id, decision, status, metrics, levels, now_us, clock_policy) -> None:
        self.ticket_id = ticket_id
        self.decision = decision
        self.status = status
        self.metrics: dict[str, MetricClock | None] = metrics
        self.levels: dict[str, MetricClock] | None = levels       # None without an operator SLA
        self.now_us = now_us
        self.clock_policy: ClockPolicy = clock_policy

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
                 "starts", "statuses", "replied", "escalated", "last_change", "regimes", "sticky")

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
        self.policy = clock._policies.at(decision.created_at.date().isoformat())
        self.pause = self.policy.pause_statuses
        self.created_us = self.last_change = created_us
        self.status = "open"
        self.starts = [created_us]
        self.statuses = ["open"]
        self.replied = self.escalated = None
        self.regimes: list[_Regime | None] = [None, None, None, None]
        self.sticky: list[int | None] = [None, None, None, None]
        self._sync(created_us)

    # ---- phases
    def _split(self, at: int) -> None:
        """Start a phase at ``at`` with the current status (or restate the one starting there)."""
        if self.starts[-1] == at:
            self.statuses[-1] = self.status
        else:
            self.starts.append(at)
            self.statuses.append(self.status)

    def _classes(self, k: int) -> list[int]:
        """Metric ``k``'s class over each phase."""
        pause = self.pause
        if k == 1:
            return [_STOP if s in STOP_STATUSES else _PAUSE if s in pause else _RUN for s in self.statuses]
        if k == 3:
            e = self.escalated
            if e is None:
                return [_WAIT] * len(self.starts)
            return [_WAIT if a < e else _STOP if s in STOP_STATUSES else _PAUSE if s in pause else _RUN
                    for a, s in zip(self.starts, self.statuses)]
        done = self.replied if k == 0 else self.escalated
        if done is None:
            return [_STOP if s in STOP_STATUSES else _PAUSE if s in pause else _RUN for s in self.statuses]
        return [_STOP if a >= done or s in STOP_STATUSES else _PAUSE if s in pause else _RUN
                for a, s in zip(self.starts, self.statuses)]

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
            return _Regime(key, cal, target_us, text, key[3], days)
        op = d.operator_sla
        level = op.sla.first_level if k == 2 else op.sla.second_level
        cal, target_us, days = self.clock._level_meter(level, op.timezone)
        return _Regime(key, cal, target_us, str(level), self.created_us, days)

    def _sync(self, at: int) -> None:
        """Bring each metric's regime in line with the decision, at ``at``.  A stopped metric keeps
        its regime (it stopped under it) until it resumes.  A regime replaced after a breach leaves the
        breach behind (``sticky``)."""
        regimes = self.regimes
        for k in range(4):
            want = self._want(k)
            current = regimes[k]
            if (current.key if current is not None else None) == want:
                continue
            if current is not None:
                if self._current_class(k) == _STOP:
                    continue
                m = self._measure(k, current, at)
                if m.late:
                    old = self.sticky[k]
                    self.sticky[k] = m.reached if old is None else min(old, m.reached)
            regimes[k] = None if want is None else self._build(k, want)

    # ---- events
    def apply(self, ev: Event) -> str:
        """Apply one event; a note of what it did.  ``EventError`` if it is refused (nothing changes)."""
        code, at = ev.code, ev.at_us
        if code == STATUS:
            new = ev.data["status"]
            if new == self.status:
                return f"status stays {new}"
            old, self.status = self.status, new
            self._split(at)
            self._sync(at)
            return f"status {old} -> {new}"
        if code == AGENT_REPLY:
            if self.replied is not None:
                return "reply (not the first: first_response is already stopped)"
            self.replied = at
            self._split(at)
            return "first public reply by support"
        if code == ESCALATED:
            if self.escalated is not None:
                return "escalated again (the first escalation counts)"
            self.escalated = at
            self._split(at)
            op = self.decision.operator_sla
            return f"escalated to the 2nd level of operator SLA {op.sla.id}" if op else \
                "escalated (no location yet, so no operator SLA applies so far)"
        if code == CREATED:
            raise EventError(ev.line, self.ticket_id, "type", f"ticket {self.ticket_id} is already created", "created")
        if code == UPDATED:
            raw = {**self.raw, **ev.data["facts"]}
            decision = self.clock._triage(raw, ev, "facts")
            names = ", ".join(sorted(ev.data["facts"])) or "nothing"
            note = f"facts updated ({names}); triaged again"
        else:  # PRIORITY
            override = {"priority": ev.data["priority"], "reason": ev.data["reason"]}
            raw = {**self.raw, "priority_override": override}
            decision = self.clock._triage(raw, ev, "priority")
            note = f"re-prioritised by the team to {override['priority']}: {override['reason']}"
        old = self.decision
        self.raw, self.decision = raw, decision
        if decision.priority != old.priority:
            self.last_change = at
            self._split(at)
            note += f"; priority {old.priority} -> {decision.priority}"
        else:
            note += f"; priority stays {decision.priority}"
        if (old.operator_sla is None) != (decision.operator_sla is None) or (
                decision.operator_sla is not None and old.operator_sla.sla.id != decision.operator_sla.sla.id):
            op = decision.operator_sla
            note += f"; operator SLA now {op.sla.id}" if op else "; no operator SLA now"
        self._sync(at)
        return note

    # ---- measuring
    def _measure(self, k: int, regime: _Regime, end: int, positions: dict | None = None) -> _Measure:
        """Metric ``k`` under ``regime`` over the life up to ``end``."""
        starts = self.starts
        classes = self._classes(k)
        cal = regime.cal
        pos = None if positions is None else positions.get(id(cal))
        if pos is None:
            pos = _positions(cal, starts + [end])
            if positions is not None:
                positions[id(cal)] = pos
        count_from = regime.count_from
        target = regime.target_us
        elapsed = paused = 0
        reached = stop_from = None
        late = started = False
        last = _WAIT
        n = len(starts)
        for i in range(n):
            a = starts[i]
            cls = classes[i]
            if a < count_from or cls == _WAIT:
                continue
            if not started:
                started = True
                if target is None:
                    target = self._days_target(regime, a)
            last = cls
            if cls == _STOP:
                if stop_from is None:
                    stop_from = a
                continue
            stop_from = None
            d = pos[i + 1] - pos[i]
            if cls == _PAUSE:
                paused += d
                continue
            b = starts[i + 1] if i + 1 < n else end
            if reached is not None:
                if b > a:
                    late = True
            elif elapsed + d >= target:
                amount = target - elapsed
                reached = _forward(cal, a, amount) if amount > 0 else a
                late = reached < b
            elapsed += d
        if target is None:
            target = self._days_target(regime, max(count_from, self.created_us))
        return _Measure(elapsed, paused, target, reached, late, last, stop_from, started)

    def _days_target(self, regime: _Regime, start: int) -> int:
        kind, what, extra = regime.days
        begin = regime.cal._from_us(start)
        due = what.add(begin, extra) if kind == "calendar" else level_due(begin, what, extra)
        return epoch_us(due) - start

    def _metric(self, k: int, name: str, end: int, positions: dict) -> MetricClock | None:
        regime = self.regimes[k]
        if regime is None:
            return None
        m = self._measure(k, regime, end, positions)
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
            base = end if stopped is None else stopped
            if elapsed >= target:
                due = m.reached if m.reached is not None else base
            else:
                due = _forward(cal, base, target - elapsed)
        thresholds = self.policy.warnings
        warnings = tuple(t for t in thresholds if elapsed * 100 >= t * target) if m.started else ()
        return MetricClock(name, state, regime.target, target, elapsed, m.paused, due, stopped, breached, warnings,
                           cal)

    def metrics_at(self, end: int) -> tuple[dict, dict | None]:
        positions: dict = {}
        metrics = {METRICS[k]: self._metric(k, METRICS[k], end, positions) for k in (0, 1)}
        levels = None
        if self.regimes[2] is not None:
            levels = {LEVELS[k - 2]: self._metric(k, LEVELS[k - 2], end, positions) for k in (2, 3)}
        return metrics, levels

    def finish(self, now_us: int) -> TicketClock:
        metrics, levels = self.metrics_at(now_us)
        return TicketClock(self.ticket_id, self.decision, self.status, metrics, levels, now_us, self.policy)


# --------------------------------------------------------------------------- the log
class SLAClock:
    """Clocks an event log against a policy set (``evaluate``: the policy set's evaluate)."""

    def __init__(self, evaluate: Callable[[Any], Any], documents: Iterable) -> None:
        self._evaluate = evaluate
        self._policies = ClockPolicies(documents)
        self._meters: dict = {}

    # ---- helpers used by _Life
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
        key = (level, timezone)
        found = self._meters.get(key)
        if found is None:
            if level.weekdays_only:
                cal = _clock(timezone, True)
                found = (cal, cal._resolve(level.counted, False)[1], None)
            elif level.within.unit in ("minutes", "hours"):
                found = (_clock(timezone, False), level.within.microseconds(), None)
            else:
                found = (_clock(timezone, False), None, ("level", level, timezone))
            self._meters[key] = found
        return found

    # ---- reading
    def _read(self, events: Iterable[Any], now_us: int):
        """(errors with no ticket, {ticket_id: [events, errors]}) in order of first appearance."""
        loose: list[EventError] = []
        tickets: dict[str, list] = {}
        for seq, item in enumerate(events):
            if type(item) is TicketInput:
                line = item.line
                if item.error is not None:
                    loose.append(EventError(line, None, None, item.error))
                    continue
                raw = item.ticket
            else:
                line, raw = seq + 1, item
            try:
                found = parse_event(raw, line, seq, now_us)
            except EventError as exc:
                if exc.ticket_id is None:
                    loose.append(exc)
                else:
                    entry = tickets.get(exc.ticket_id)
                    if entry is None:
                        entry = tickets[exc.ticket_id] = [[], []]
                    entry[1].append(exc)
                continue
            if found is None:
                continue  # after now
            ticket_id, ev = found
            entry = tickets.get(ticket_id)
            if entry is None:
                entry = tickets[ticket_id] = [[], []]
            entry[0].append(ev)
        return loose, tickets

    def _life(self, ticket_id: str, events: list[Event], errors: list, timeline: list | None):
        """(_Life or None, EventError for the ticket or None); refused events go to ``errors``."""
        events.sort()
        created = next((ev for ev in events if ev.code == CREATED), None)
        life = None
        for ev in events:
            if life is None:
                if created is None:
                    error = EventError(ev.line, ticket_id, "ticket_id", f"unknown ticket {ticket_id!r}: no 'created' "
                                       "event for it (up to now)", ev.type)
                elif ev is not created:
                    error = EventError(ev.line, ticket_id, "at", f"{ev.type} event at {ev.at_text} is before the "
                                       f"ticket's 'created' event (line {created.line}, at {created.at_text})",
                                       ev.type)
                else:
                    try:
                        life = _Life(self, ticket_id, ev)
                    except EventError as exc:
                        exc.ticket_id = ticket_id
                        if timeline is not None:
                            timeline.append(TimelineEntry(ev, None, exc, {}))
                        return None, exc
                    except TriageError as exc:
                        failure = EventError(ev.line, ticket_id, "at", str(exc), "created")
                        if timeline is not None:
                            timeline.append(TimelineEntry(ev, None, failure, {}))
                        return None, failure
                    if timeline is not None:
                        timeline.append(TimelineEntry(ev, _created_note(life), None, _flat(life, ev.at_us)))
                    continue
                insort(errors, error, key=lambda e: e.line or 0)
                if timeline is not None:
                    timeline.append(TimelineEntry(ev, None, error, {}))
                continue
            try:
                note = life.apply(ev)
            except EventError as exc:
                exc.ticket_id = ticket_id
                insort(errors, exc, key=lambda e: e.line or 0)
                if timeline is not None:
                    timeline.append(TimelineEntry(ev, None, exc, _flat(life, ev.at_us)))
                continue
            except TriageError as exc:
                error = EventError(ev.line, ticket_id, "at", str(exc), ev.type)
                insort(errors, error, key=lambda e: e.line or 0)
                continue
            if timeline is not None:
                timeline.append(TimelineEntry(ev, note, None, _flat(life, ev.at_us)))
        return life, None

    def run(self, events: Iterable[Any], now: datetime) -> Iterator[TicketClock | EventError]:
        """Every ticket's clock at ``now``, each preceded by the errors of its events (in line order);
        errors that name no ticket come first.  Tickets in order of first appearance.  Lazy, but the
        whole log is read before the first ticket (a ticket's events may be anywhere in it)."""
        return self._run(events, _now_us(now))

    def _run(self, events: Iterable[Any], now_us: int) -> Iterator[TicketClock | EventError]:
        loose, tickets = self._read(events, now_us)
        yield from loose
        for ticket_id, (events_of, errors) in tickets.items():
            errors.sort(key=lambda e: e.line or 0)
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
        _, tickets = self._read(events, now_us)
        if ticket_id not in tickets:
            hint, _ = did_you_mean(ticket_id, tickets)
            raise TriageError(f"no event for ticket {ticket_id!r} up to {now.isoformat()}{hint}")
        events_of, errors = tickets[ticket_id]
        unread = sorted(errors, key=lambda e: e.line or 0)
        entries: list[TimelineEntry] = []
        life, failure = self._life(ticket_id, events_of, list(errors), entries)
        clock = life.finish(now_us) if life is not None else None
        return Timeline(ticket_id, entries, clock, failure, unread)


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
