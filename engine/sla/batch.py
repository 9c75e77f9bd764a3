"""The common ticket of an event log, clocked in a batch with others.

Most tickets of a log are *plain*: every event is valid in its common form (dicts, ``at`` in a
remembered form), the ``created`` event is the first of the ticket's events in the input, and they are
in ``at`` order as given.  :func:`clock_batch` clocks a batch of tickets in stages, each over the whole
batch, so that each stage's working set stays in the processor's caches (the evaluator's for all the
evaluations, the calendars' for all the measuring):

1. read each ticket's events once: their instants and what each does (:func:`read_plain`);
2. triage each ticket at creation and again after each ``updated`` or ``priority`` event;
3. apply the events (:meth:`TicketLife.apply_ops`) and measure the metrics at ``now``.

A ticket that is not plain, or whose events or triage fail anywhere, gets None: the general path of
:class:`~engine.sla.clock.SLAClock` (events parsed, sorted and applied one by one) takes it, and finds
and words every problem.  Both apply events with the same methods of :class:`TicketLife`, so a ticket
gets the same clock on either path.
"""
from __future__ import annotations

from typing import Any

from ..core.errors import TriageError
from .clock_policy import STATUSES
from .clock_records import TicketClock
from .events import AGENT_REPLY, CREATED, ESCALATED, PRIORITY, UPDATED, at_memos, at_us_of, well_formed
from .life import TicketLife, created_facts, facts_after

_STATUS_SET = frozenset(STATUSES)
_BEFORE_ALL = -(1 << 63)
_SIZES = {"updated": (UPDATED, 4), "priority": (PRIORITY, 5)}  # re-triage: its code and its number of fields


def read_plain(positions: list[int], log: list, now_us: int) -> tuple | None:
    """``(created, ats, ops, retriage)`` for a plain ticket's events (at ``positions`` in ``log``, in input
    order) up to ``now_us``, else None.  ``created``: the ``created`` event's (at, at text, ticket); ``ats``
    and ``ops`` the later events' instants and what each does (a status, ``AGENT_REPLY``, ``ESCALATED``, or
    ``UPDATED`` for a re-triage); ``retriage``: (code, event) of the re-triages in order."""
    days, minutes, seconds = at_memos()
    statuses = _STATUS_SET
    n = len(positions)
    created = None
    prev = _BEFORE_ALL
    ats: list[int] = []
    ops: list = []
    retriage: list = []
    i = 0
    while i < n:
        raw = log[positions[i]]  # a dict, as every event grouped under a ticket
        i += 1
        kind, at_text = raw.get("type"), raw.get("at")
        if type(at_text) is not str or type(kind) is not str:
            return None
        try:
            at = days[at_text[:10]] + minutes[at_text[10:16]] + seconds[at_text[16:]]
        except KeyError:
            at = at_us_of(at_text)
            if at is None:
                return None
        if at < prev:
            return None
        if at > now_us:  # this and every later event is after now: ignored, if their at is valid
            if created is None:
                return None
            i -= 1
            break
        prev = at
        if created is None:  # the first event
            if kind != "created" or len(raw) != 4 or type(raw.get("ticket")) is not dict:
                return None
            created = (at, at_text, raw["ticket"])
            continue
        if kind == "status":
            op = raw.get("status")
            if len(raw) != 4 or type(op) is not str or op not in statuses:
                return None
        elif kind == "agent_reply" or kind == "escalated":
            if len(raw) != 3:
                return None
            op = AGENT_REPLY if kind == "agent_reply" else ESCALATED
        else:
            code, size = _SIZES.get(kind, (CREATED, 0))
            if len(raw) != size or not well_formed(raw, code):
                return None
            retriage.append((code, raw))
            op = UPDATED
        ats.append(at)
        ops.append(op)
    while i < n:
        at_text = log[positions[i]].get("at")
        i += 1
        if type(at_text) is not str:
            return None
        at = at_us_of(at_text)
        if at is None or at <= now_us:
            return None
    if created is None:
        return None
    return created, ats, ops, retriage


def _triage_all(clock: "SLAClock", ticket_id: str, created: tuple, retriage: list) -> list[tuple[dict, Any]]:
    """(facts, decision) at creation and after each re-triage; ``TriageError`` if any is refused."""
    raw = created_facts(ticket_id, created[1], created[2])
    triage = clock.triage
    out = [(raw, triage(raw, None, CREATED, "ticket"))]
    for code, event in retriage:
        raw = facts_after(raw, code, event)
        out.append((raw, triage(raw, None, code, "facts" if code == UPDATED else "priority")))
    return out


def clock_batch(clock: "SLAClock", batch: list[tuple[str, int]], log: Any, now_us: int) -> list[TicketClock | None]:
    """The clock at ``now_us`` of each ``(ticket_id, last)`` of ``batch`` that is plain (``last``: the
    position of its last event in ``log``, a :class:`~engine.sla.clock.Log`), None for the others."""
    events, positions = log.events, log.positions
    read = [read_plain(positions(last), events, now_us) for _, last in batch]
    triaged: list = []
    for (ticket_id, _), found in zip(batch, read):
        if found is None:
            triaged.append(None)
            continue
        try:
            triaged.append(_triage_all(clock, ticket_id, found[0], found[3]))
        except TriageError:
            triaged.append(None)
    out: list[TicketClock | None] = []
    for (ticket_id, _), found, decisions in zip(batch, read, triaged):
        if decisions is None:
            out.append(None)
            continue
        created, ats, ops, _ = found
        raw, decision = decisions[0]
        try:
            life = TicketLife(clock, ticket_id, raw, decision, created[0], created[1])
            life.apply_ops(ats, ops, iter(decisions[1:]))
            out.append(life.finish(now_us))
        except TriageError:
            out.append(None)
    return out
