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
from bisect import insort
from itertools import islice
from datetime import UTC, datetime
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple

from ..calendar.business import BusinessCalendar
from ..calendar.duration import Duration
from ..calendar.index import epoch_us
from ..core.errors import TicketError, TriageError
from ..core.memo import remember
from ..core.suggest import did_you_mean, hint
from ..facts.reader import TicketInput
from .clock_policy import ClockPolicies, ClockPolicy
from .clock_records import LEVELS, METRICS, PRIORITY_ORDER, MetricClock, Queue, TicketClock, Timeline, \
    TimelineEntry
from .events import CREATED, EVENT_TYPES, MAX_ID_LENGTH, Event, EventError, parse_event, parse_events
from .batch import clock_batch
from .life import TicketLife, created_facts
from .operator import level_clock

__all__ = ["SLAClock", "TicketClock", "MetricClock", "Timeline", "TimelineEntry", "Queue", "METRICS", "LEVELS",
           "PRIORITY_ORDER", "current_time"]


_ENDS_SIZE = 4096
_BATCH = 32  # tickets clocked in stages together (engine.sla.batch): enough to keep each stage's working
# set in the caches, few enough that the objects a batch holds at once seldom wake the garbage collector


# --------------------------------------------------------------------------- the log
class Log(NamedTuple):
    """An event log as read: every event at its position (a dict, or what was not one); for each event
    of a ticket, the position of the ticket's event before it (-1 for its first); the line of each event
    whose line is not its position + 1."""

    events: list
    before: array
    lines: dict[int, int]

    def positions(self, last: int) -> list[int]:
        """The positions of a ticket's events, in input order, from the position of its ``last``."""
        before = self.before
        out = []
        while last >= 0:
            out.append(last)
            last = before[last]
        out.reverse()
        return out


class SLAClock:
    """Clocks an event log against a policy set (``evaluate``: the evaluator's ``triage``, or its ``evaluate``)."""

    def __init__(self, evaluate: Callable[[Any], Any], documents: Iterable) -> None:
        self._evaluate = evaluate
        self._policies = ClockPolicies(documents)
        self._meters: dict = {}
        self._by_day: dict = {}
        self._ends: dict = {}

    # ---- internal to the engine: used by TicketLife (engine.sla.life)
    def policy_on(self, created_at: datetime) -> ClockPolicy:
        """The SLAClock in effect on ``created_at``'s date as written (remembered per date)."""
        day = created_at.date()
        found = self._by_day.get(day)
        if found is None:
            found = self._by_day[day] = self._policies.at(day.isoformat())
        return found

    def triage(self, raw: dict, line: int | None, code: int, where: str):
        """The decision on ``raw``, the facts after an event of type ``code`` on ``line``; ``EventError``
        naming the field (under ``where``: ``ticket`` or ``facts``, or ``priority``) if it is refused."""
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
            raise EventError(line, raw.get("id") if isinstance(raw.get("id"), str) else None, field, message,
                             EVENT_TYPES[code], problems) from None
        except TriageError as exc:
            raise EventError(line, None, "priority" if where == "priority" else where, str(exc),
                             EVENT_TYPES[code]) from None

    def meter(self, calendar: BusinessCalendar, text: str) -> tuple:
        """(calendar time counts on, target in microseconds or None, days) for a target duration."""
        key = (id(calendar), text)
        found = self._meters.get(key)
        if found is None:
            duration = Duration.parse(text)
            kind, amount = calendar.resolve_unit(duration)
            if kind == "business":
                found = (calendar, amount, None)
            elif kind == "elapsed":
                found = (level_clock(calendar.timezone, False), amount, None)
            else:
                found = (level_clock(calendar.timezone, False), None, ("calendar", calendar, duration))
            self._meters[key] = (calendar, found)  # the calendar is kept so that its id stays its own
        else:
            found = found[1]
        return found

    def positions(self, calendar: BusinessCalendar, starts: list[int], end: int) -> tuple[list[int], Any]:
        """``calendar.business_positions(starts + [end])``, the position of ``end`` relative to the first
        year remembered: every ticket is measured to the same now, often years after its phases."""
        pos, first_yr = calendar.business_positions(starts)
        key = (first_yr, end)  # a year index is its calendar's own (keyed by identity)
        found = self._ends.get(key)
        if found is None:
            found = remember(self._ends, key, calendar.business_positions([first_yr.start_us, end])[0][1], _ENDS_SIZE)
        pos.append(found)
        return pos, first_yr

    def level_meter(self, level, timezone: str) -> tuple:
        """The same for an operator level, on the operator's clock of :mod:`engine.sla.operator`."""
        key = (id(level), timezone)
        found = self._meters.get(key)
        if found is None or found[0] is not level:
            if level.weekdays_only:
                cal = level_clock(timezone, True)
                meter = (cal, cal.business_us(level.counted), None, str(level))
            elif level.within.unit in ("minutes", "hours"):
                meter = (level_clock(timezone, False), level.within.microseconds(), None, str(level))
            else:
                meter = (level_clock(timezone, False), None, ("level", level, timezone), str(level))
            found = self._meters[key] = (level, meter)  # the level is kept so that its id stays its own
        return found[1]

    # ---- reading
    def _read(self, events: Iterable[Any], now_us: int) -> tuple[list[EventError], dict[str, int], Log]:
        """(errors naming no ticket, {ticket_id: position of its last event}, the log) with tickets in order
        of first appearance.  Events are only grouped here and read per ticket (:meth:`_parse`): the whole
        log is held until its end, so per event it keeps one reference (``log.events``) and the position
        of the ticket's event before it (in one ``array``, no int objects), and ``log.lines`` only where a
        line is not position + 1.  Nothing per ticket but its last position: no object the garbage
        collector would have to scan again and again while the tickets are clocked."""
        loose: list[EventError] = []
        last: dict[str, int] = {}
        lines: dict[int, int] = {}
        held: list = []
        before = array("q")
        keep, link = held.append, before.append
        get = last.get
        for seq, raw in enumerate(events):
            if type(raw) is not dict:  # a dict is the common case; the line is then position + 1
                if type(raw) is TicketInput:
                    line = raw.line
                    if raw.error is not None:
                        loose.append(EventError(line, None, None, raw.error))
                        keep(None)
                        link(-1)
                        continue
                    raw = raw.ticket
                    if line != seq + 1:
                        lines[seq] = line
                if type(raw) is not dict and isinstance(raw, Mapping):
                    raw = dict(raw)
            keep(raw)
            ticket_id = raw.get("ticket_id") if type(raw) is dict else None
            if type(ticket_id) is not str or not ticket_id or len(ticket_id) > MAX_ID_LENGTH:
                link(-1)
                try:  # names the problem (or the event is after now)
                    parse_event(raw, lines.get(seq, seq + 1), seq, now_us)
                except EventError as exc:
                    loose.append(exc)
                continue
            link(get(ticket_id, -1))
            last[ticket_id] = seq
        return loose, last, Log(held, before, lines)

    @staticmethod
    def _parse(last: int, log: Log, now_us: int) -> tuple[list[Event], list[EventError]]:
        """A ticket's events (the last at ``last``) up to ``now_us``, in ``at`` order (ties in input order),
        and the refused ones."""
        return parse_events(log.positions(last), log.events, log.lines, now_us)

    def _life(self, ticket_id: str, events: list[Event], errors: list, timeline: list | None):
        """(TicketLife or None, EventError for the ticket or None); ``events`` sorted; refused events go to
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
            raw = created_facts(ticket_id, ev.at_text, ev.data["ticket"], ev.line)
            life = TicketLife(self, ticket_id, raw, self.triage(raw, ev.line, CREATED, "ticket"), ev.at_us, ev.at_text,
                              ev.line)
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
        loose, tickets, log = self._read(events, now_us)
        yield from loose
        pending = iter(tickets.items())
        while True:
            batch = list(islice(pending, _BATCH))
            if not batch:
                break
            for (ticket_id, last), found in zip(batch, clock_batch(self, batch, log, now_us)):
                if found is not None:
                    yield found
                else:
                    yield from self._general(ticket_id, last, log, now_us)

    def _general(self, ticket_id: str, last: int, log: Log, now_us: int) -> Iterator[TicketClock | EventError]:
        """A ticket's clock, preceded by the errors of its events (in line order); any ticket."""
        events_of, errors = self._parse(last, log, now_us)
        life, failure = self._life(ticket_id, events_of, errors, None)
        yield from errors
        if failure is not None:
            yield failure
        elif life is not None:
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
        _, tickets, log = self._read(events, now_us)
        events_of, errors = self._parse(tickets[ticket_id], log, now_us) if ticket_id in tickets else ([], [])
        if not events_of and not errors:
            known = [t for t, last in tickets.items() if any(self._parse(last, log, now_us))]
            suggestion = hint(did_you_mean(ticket_id, known))
            raise TriageError(f"no event for ticket {ticket_id!r} up to {now.isoformat()}{suggestion}")
        unread = list(errors)
        entries: list[TimelineEntry] = []
        life, failure = self._life(ticket_id, events_of, list(errors), entries)
        clock = life.finish(now_us) if life is not None else None
        return Timeline(ticket_id, entries, clock, failure, unread)


def _line(error: EventError) -> int:
    return error.line or 0


def _created_note(life: TicketLife) -> str:
    d = life.decision
    why = f"by the team: {d.override.get('reason', '')}" if d.override else \
        (f"by rule {d.decided_by}" if d.decided_by else "the policy's default")
    note = f"triaged {d.priority} ({why}) on calendar {d.calendar}"
    if d.operator_sla is not None:
        note += f"; operator SLA {d.operator_sla.sla.id} for location {d.operator_sla.location_id}"
    return note


def _flat(life: TicketLife, at: int) -> dict:
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
