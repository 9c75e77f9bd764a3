"""One ticket's life under the SLA clock: its phases, the regime each metric counts under, and the
measuring of a metric at an instant (the contract is :mod:`engine.sla.clock`'s)."""
from __future__ import annotations

from bisect import bisect_left
from typing import Any, Iterator

from ..calendar.index import epoch_us
from .clock_policy import STOP_STATUSES
from .clock_records import MetricClock, TicketClock
from .events import AGENT_REPLY, CREATED, ESCALATED, STATUS, UPDATED, Event, EventError
from .measure import PAUSE as _PAUSE, RUN as _RUN, STOP as _STOP, WAIT as _WAIT, Regime as _Regime, \
    days_target, measure, phases_on

_new_tuple = tuple.__new__   # builds a named tuple from its fields in order, without its Python __new__


class TicketLife:
    """The state of one ticket while its events are applied: facts, decision, and the phases of its
    life (an instant and the status from then on; a reply, an escalation and a priority change also
    start a phase, so every metric's class is constant over a phase)."""

    __slots__ = ("clock", "ticket_id", "raw", "decision", "policy", "pause", "created_us", "status",
                 "starts", "statuses", "replied", "escalated", "last_change", "regimes", "sticky", "deferred",
                 "from_change")

    def __init__(self, clock: "SLAClock", ticket_id: str, raw: dict, decision: Any, at_us: int, at_text: str,
                 line: int | None = None) -> None:
        """The ticket its ``created`` event (at ``at_us``, written ``at_text``) creates: ``raw`` its facts (see
        :func:`created_facts`) and ``decision`` their triage; ``EventError`` (naming ``line``) if it cannot be."""
        self.clock = clock
        self.ticket_id = ticket_id
        written = raw["created_at"]
        # the same text is the same instant, already known (the common case: created_at is the event's at)
        created_us = at_us if type(written) is str and written == at_text else epoch_us(decision.created_at)
        if created_us > at_us:
            raise EventError(line, ticket_id, "ticket.created_at", f"created_at {written} is after the "
                             f"event's at {at_text}: a ticket is logged when or after it is created", "created")
        self.raw = raw
        self.decision = decision
        self.policy = policy = clock.policy_on(decision.created_at)
        self.pause = policy.pause_statuses
        self.from_change = policy.on_priority_change == "from_change"
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
        kinds = measured = None
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
            if kinds is None:
                kinds = self._base()
                measured = {}  # the phases measured per calendar, shared by the metrics measured here
            m = None if k == 3 and self.escalated is None else self._measure(k, current, kinds, at, measured)
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
            old = self.status
            self.set_status(at, new)
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
        old = self.decision
        self.retriage(at, code, data, ev.line)
        return retriage_note(ev, old, self.decision) if verbose else None

    def set_status(self, at: int, new: str) -> None:
        """The status becomes ``new`` (another than the current one) at ``at``: a new phase."""
        self.status = new
        starts = self.starts  # self._split, inlined: status events are most of a log
        if starts[-1] == at:
            self.statuses[-1] = new
        else:
            starts.append(at)
            self.statuses.append(new)
        if self.deferred:
            self._sync(at)

    def retriage(self, at: int, code: int, data: Any, line: int | None) -> None:
        """An ``updated`` or ``priority`` event at ``at``: the ticket is triaged again (``EventError``
        naming ``line`` if the new facts are refused; then nothing changes)."""
        raw = facts_after(self.raw, code, data)
        self.retriaged(at, raw, self.clock.triage(raw, line, code, "facts" if code == UPDATED else "priority"))

    def retriaged(self, at: int, raw: dict, decision: Any) -> None:
        """The ticket triaged again at ``at``: ``decision`` on its facts ``raw`` from then on."""
        old = self.decision
        self.raw, self.decision = raw, decision
        if decision.priority != old.priority:
            self.last_change = at
            self._split(at)
            self._sync(at)
        elif not _same_regimes(old, decision):
            self._sync(at)
        # else every metric's regime key (see _wants) is unchanged: _sync would change nothing

    def apply_ops(self, ats: list[int], ops: list, triaged: Iterator[tuple[dict, Any]]) -> None:
        """Apply events already read, in order: at ``ats[i]``, ``ops[i]`` is a status (a ``status`` event),
        ``AGENT_REPLY``, ``ESCALATED`` or ``UPDATED`` (a re-triage, whose facts and decision ``triaged``
        gives in turn).  The same as :meth:`apply` of each (its status branch inlined), without notes."""
        status, starts, statuses = self.status, self.starts, self.statuses
        for at, op in zip(ats, ops):
            if type(op) is str:
                if op != status:
                    self.status = status = op
                    if starts[-1] == at:
                        statuses[-1] = op
                    else:
                        starts.append(at)
                        statuses.append(op)
                    if self.deferred:
                        self._sync(at)
            elif op == AGENT_REPLY:
                if self.replied is None:
                    self.replied = at
                    self._split(at)
            elif op == ESCALATED:
                if self.escalated is None:
                    self.escalated = at
                    self._split(at)
            else:
                raw, decision = next(triaged)
                self.retriaged(at, raw, decision)

    # ---- measuring
    def _window(self, k: int, regime: _Regime, starts: list[int]) -> tuple[int, int]:
        """The phases metric ``k`` counts over under ``regime``: from ``lo``, stopped for good from ``hi``
        (``lo`` past the last phase: not started)."""
        n = len(starts)
        lo = bisect_left(starts, regime.count_from)
        if k == 0:
            return lo, n if self.replied is None else bisect_left(starts, self.replied)
        if k == 2:
            return lo, n if self.escalated is None else bisect_left(starts, self.escalated)
        if k == 3:
            e = n if self.escalated is None else bisect_left(starts, self.escalated)
            return (lo if lo > e else e), n
        return lo, n

    def _measure(self, k: int, regime: _Regime, kinds: list[int], end: int, measured: dict):
        """Metric ``k`` under ``regime`` up to ``end``; ``measured`` keeps the phases measured per calendar."""
        cal = regime.cal
        starts = self.starts
        ph = measured.get(id(cal))
        if ph is None:
            pos, first_yr = self.clock.positions(cal, starts, end)
            ph = measured[id(cal)] = phases_on(pos, first_yr, kinds)
        lo, hi = self._window(k, regime, starts)
        return measure(regime, ph, starts, kinds, lo, hi, end, self.created_us, self.decision.created_at)

    def _metric(self, k: int, name: str, kinds: list[int], end: int, measured: dict) -> MetricClock | None:
        regime = self.regimes[k]
        if regime is None:
            return None
        if k == 3 and self.escalated is None:  # the 2nd level, never escalated
            target = regime.target_us
            if target is None:
                target = days_target(regime, end)
            return _new_tuple(MetricClock, (name, "not_started", regime.target, target, 0, 0, None, None,
                                            self.sticky[k], (), regime.cal))
        m = self._measure(k, regime, kinds, end, measured)
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
        kinds = self._base()
        measured: dict = {}
        metric = self._metric
        # a metric the ticket has no target for (a channel that promises a first reply only) is left out
        metrics = {}
        if self.regimes[0] is not None:
            metrics["first_response"] = metric(0, "first_response", kinds, end, measured)
        if self.regimes[1] is not None:
            metrics["resolution"] = metric(1, "resolution", kinds, end, measured)
        if self.regimes[2] is None:
            return metrics, None
        return metrics, {"first_level": metric(2, "first_level", kinds, end, measured),
                         "second_level": metric(3, "second_level", kinds, end, measured)}

    def finish(self, now_us: int) -> TicketClock:
        metrics, levels = self.metrics_at(now_us)
        return _new_tuple(TicketClock, (self.ticket_id, self.decision, self.status, metrics, levels, now_us,
                                        self.policy))


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




def created_facts(ticket_id: str, at_text: str, data: Any, line: int | None = None) -> dict:
    """The facts a ``created`` event (at ``at_text``, ``data`` its ``ticket``) creates a ticket with: ``id``
    and ``created_at`` filled in from the event when absent; ``EventError`` (naming ``line``) if the ticket's
    id is another.  ``data`` is read, never changed: copied only to fill in."""
    raw = data if type(data) is dict else dict(data)
    given = raw.get("id")
    if given is None:
        raw = {**raw, "id": ticket_id}
    elif given != ticket_id:
        raise EventError(line, ticket_id, "ticket.id", f"ticket id {given!r} is not the event's ticket_id "
                         f"{ticket_id!r}", "created")
    if "created_at" not in raw:
        raw = {**raw, "created_at": at_text}
    return raw


def facts_after(raw: dict, code: int, data: Any) -> dict:
    """A ticket's facts ``raw`` after an ``updated`` or a ``priority`` event (``code``, ``data`` the event)."""
    if code == UPDATED:
        return {**raw, **data["facts"]}
    return {**raw, "priority_override": {"priority": data["priority"], "reason": data["reason"]}}
