"""The SLA clock's records: one metric (:class:`MetricClock`), one ticket (:class:`TicketClock`),
a ticket's timeline and the queue.  See :mod:`engine.sla.clock` for how they are computed."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, NamedTuple

from ..calendar.index import epoch_us
from ..facts.vocabulary import PRIORITIES
from .clock_policy import STOP_STATUSES, ClockPolicy
from .events import Event, EventError

METRICS = ("first_response", "resolution")
LEVELS = ("first_level", "second_level")
PRIORITY_ORDER = PRIORITIES  # P1 first

_NEVER = 1 << 62


def seconds(us: int) -> int:
    """Whole seconds, truncated toward zero."""
    return us // 1_000_000 if us >= 0 else -(-us // 1_000_000)


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
        return None if us is None else self.cal.datetime_us(us)

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
                "elapsed_seconds": seconds(self.elapsed_us), "paused_seconds": seconds(self.paused_us),
                "remaining_seconds": seconds(self.remaining_us), "percent": self.percent,
                "warnings": list(self.warnings)}

    def _iso(self, us: int | None) -> str | None:
        return None if us is None else self.cal.datetime_us(us).isoformat()

    def __repr__(self) -> str:
        return f"<MetricClock {self.name} {self.state} {seconds(self.elapsed_us)}s of {self.target}>"


class TicketClock(NamedTuple):
    """One ticket's SLA clock at ``now``: its decision, status and metrics."""

    ticket_id: str
    decision: Any                                  # the Decision of the latest (re-)triage
    status: str
    metrics: dict                                  # first_response, resolution -> MetricClock; a metric
                                                   # without a target (resolution on a chat channel) is absent
    levels: dict | None                            # first_level, second_level; None without an operator SLA
    now_us: int
    clock_policy: ClockPolicy

    priority = property(lambda self: self.decision.priority)
    rules_priority = property(lambda self: self.decision.rules_priority)
    created_at = property(lambda self: self.decision.created_at)
    review = property(lambda self: self.decision.review)

    @property
    def now(self) -> datetime:
        return self.decision.business_calendar.datetime_us(self.now_us)

    @property
    def is_open(self) -> bool:
        return self.status not in STOP_STATUSES

    def all_metrics(self) -> list[MetricClock]:
        found = list(self.metrics.values())
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
        review = d.review.to_dict() if d.review is not None else None
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
            "targets": d.target_set,
            "route": d.route,
            "metrics": {name: m.to_dict() for name, m in self.metrics.items()},
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

