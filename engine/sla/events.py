"""Ticket events, the input of the SLA clock: reading one event and refusing a bad one.

An event is a JSON object with ``ticket_id`` (a non-empty string), ``at`` (RFC 3339 with an
offset) and ``type``, plus the fields of its type and no others:

========================  =====================================================================
``created``               ``ticket``: the ticket's facts as ``evaluate`` takes them (``id``
                          defaults to ``ticket_id``, ``created_at`` to ``at``)
``updated``               ``facts``: facts learned later; the ticket is triaged again
``agent_reply``           a public reply by support
``status``                ``status``: one of open, pending, on_hold, solved, closed
``priority``              ``priority`` (P1-P4) and ``reason``: re-prioritisation by the team
``escalated``             handed to the 2nd level of the location's operator SLA
========================  =====================================================================

A bad event becomes an :class:`EventError` naming its line and the field, as path inside the
event (``at``, ``status``, ``ticket.users_affected``); the rest of the log goes on.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Mapping, NamedTuple

from ..calendar.index import epoch_us
from ..core.errors import Problem, TicketError
from ..core.memo import remember
from ..core.suggest import did_you_mean
from ..facts.values import describe, parse_rfc3339
from ..facts.vocabulary import PRIORITIES
from .clock_policy import STATUSES

CREATED, UPDATED, AGENT_REPLY, STATUS, PRIORITY, ESCALATED = range(6)
EVENT_TYPES = ("created", "updated", "agent_reply", "status", "priority", "escalated")
_CODES = {name: code for code, name in enumerate(EVENT_TYPES)}
_FIELDS = (("ticket",), ("facts",), (), ("status",), ("priority", "reason"), ())  # per code, all required
MAX_ID_LENGTH = 1000
MAX_REASON_LENGTH = 1000


class EventError(TicketError):
    """A bad event (or a ticket that cannot be clocked): ``line``, ``ticket_id``, ``field`` (a path
    inside the event, e.g. ``ticket.users_affected``) and ``event`` (its type, when known)."""

    def __init__(self, line: int | None, ticket_id: str | None, field: str | None, message: str,
                 event: str | None = None, problems: tuple[Problem, ...] | None = None,
                 suggestion: str | None = None) -> None:
        """``message`` says what is wrong; ``suggestion`` (a close valid spelling) is rendered after it
        by the :class:`Problem`.  With ``problems`` (from a ticket that failed validation), ``message``
        is the first one's, as rendered."""
        if not problems:
            problems = [Problem(message, field=field, suggestion=suggestion)]
            message = problems[0].message
        self.line = line
        self.event = event
        self.message = message
        super().__init__(problems, ticket_id)
        self.field = field

    def to_dict(self) -> dict:
        """The error record, as ``evaluate`` writes one: line, ticket id, field, message."""
        out = {"line": self.line, "ticket_id": self.ticket_id, "event": self.event, "field": self.field,
               "error": self.message}
        if len(self.problems) > 1 or (self.problems and self.problems[0].field != self.field):
            out["problems"] = [{"field": p.field, "error": p.message} for p in self.problems]
        return out


class Event(NamedTuple):
    """One valid event.  ``seq`` is its position in the input (ties in ``at`` keep input order)."""

    at_us: int          # epoch microseconds
    seq: int
    line: int
    code: int           # CREATED ... ESCALATED
    at_text: str
    data: dict          # the event as read

    @property
    def type(self) -> str:
        return EVENT_TYPES[self.code]

    @property
    def at(self) -> datetime:
        """The aware datetime, as written (parsed again: only a timeline prints it)."""
        return parse_rfc3339(self.at_text)


def _bad(line, ticket_id, field, message, event=None, suggestion=None) -> EventError:
    return EventError(line, ticket_id, field, message, event, suggestion=suggestion)


_SIZES = tuple(3 + len(fields) for fields in _FIELDS)
_STATUS_SET = frozenset(STATUSES)
_PRIORITY_SET = frozenset(PRIORITIES)
_new_tuple = tuple.__new__

# ``at`` in the common forms, 2024-04-02T09:30:00+02:00 or ...Z, is read as three parts remembered
# apart, each as the microseconds it adds: the date (text[:10]), the separator with hours and minutes
# (text[10:16]) and the seconds with the offset (text[16:]).  A part is remembered only from a text
# parse_rfc3339 accepted, so a text made of remembered parts is one it accepts, with the same instant;
# anything else is parsed in full.  A text with a fraction of a second (2024-04-02T09:30:00.123+02:00,
# as many helpdesks write) is read from the same parts, the seconds taken with the offset and without
# the fraction, plus the fraction's microseconds (its first six digits, as parse_rfc3339 reads it).
# Bounded memos (their keys come from input), small: about a thousand dates a log, 3 x 1,440 hours
# and minutes, 60 seconds per offset.
_DAYS: dict[str, int] = {}
_MINUTES: dict[str, int] = {}
_SECONDS: dict[str, int] = {}
_PARTS_SIZE = 65536
_UNIX_DAY_ONE = date(1970, 1, 1).toordinal()


def at_us_of(text: str) -> int | None:
    """Epoch microseconds of RFC 3339 ``text``; None if parse_rfc3339 refuses it."""
    day, minute, second = _DAYS.get(text[:10]), _MINUTES.get(text[10:16]), _SECONDS.get(text[16:])
    if day is not None and minute is not None and second is not None:
        return day + minute + second
    fraction = _fraction(text)
    if fraction is not None:  # the same parts, the seconds without the fraction
        second = _SECONDS.get(fraction[0])
        if day is not None and minute is not None and second is not None:
            return day + minute + second + fraction[1]
    try:
        at = parse_rfc3339(text)
    except ValueError:
        return None
    at_us = epoch_us(at)
    if fraction is not None or (len(text) in (20, 25) and text[19] in "+-Zz"):  # date, time, offset (a fraction)
        day = (date(int(text[:4]), int(text[5:7]), int(text[8:10])).toordinal() - _UNIX_DAY_ONE) * 86_400_000_000
        minute = (int(text[11:13]) * 60 + int(text[14:16])) * 60_000_000
        seconds, fraction_us = fraction if fraction is not None else (text[16:], 0)
        remember(_DAYS, text[:10], day, _PARTS_SIZE)
        remember(_MINUTES, text[10:16], minute, _PARTS_SIZE)
        remember(_SECONDS, seconds, at_us - day - minute - fraction_us, _PARTS_SIZE)
    return at_us


def _fraction(text: str) -> tuple[str, int] | None:
    """For ``...T09:30:00.123+02:00`` (or ``...Z``): the seconds with the offset and without the fraction
    (``:00+02:00``) and the fraction's microseconds (its first six digits); None for another form."""
    if len(text) < 22 or text[19] != ".":
        return None
    end = len(text) - (1 if text[-1] in "Zz" else 6)  # where the offset starts
    digits = text[20:end]
    if not 1 <= len(digits) <= 9 or not digits.isascii() or not digits.isdigit():
        return None
    return text[16:19] + text[end:], int(digits[:6].ljust(6, "0"))


def at_memos() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """The memos of the parts of ``at`` (date, separator-hours-minutes, seconds-offset), each part as the
    microseconds it adds: a text whose three parts are all in them is valid, at their sum.  Read only
    (they fill through :func:`at_us_of`)."""
    return _DAYS, _MINUTES, _SECONDS


def well_formed(raw: dict, code: int) -> bool:
    """Whether the fields of a ``created``, ``updated`` or ``priority`` event (``code``) are valid in their
    common form (a dict for ``ticket`` or ``facts``): what :func:`parse_event` accepts of them, in short."""
    if code == CREATED:
        return type(raw.get("ticket")) is dict
    if code == UPDATED:
        facts = raw.get("facts")
        return type(facts) is dict and "id" not in facts and "created_at" not in facts
    value, reason = raw.get("priority"), raw.get("reason")
    return type(value) is str and value in _PRIORITY_SET and type(reason) is str \
        and len(reason) <= MAX_REASON_LENGTH and not reason.isspace() and reason != ""


def parse_events(positions: Iterable[int], log: list, lines: dict, now_us: int | None) -> tuple[list[Event],
                                                                                           list[EventError]]:
    """One ticket's events up to ``now_us``, in ``at`` order (ties in input order), and the refused
    ones.  ``positions``: where its events are in the input, and in ``log`` (the input as read, each of
    them a dict whose ``ticket_id`` is valid, the ticket's); ``lines`` maps a position to its line where
    that is not position + 1."""
    events: list[Event] = []
    errors: list[EventError] = []
    append = events.append
    codes, sizes, statuses = _CODES, _SIZES, _STATUS_SET
    days, minutes, seconds = _DAYS, _MINUTES, _SECONDS
    for seq in positions:
        raw = log[seq]
        # The common, valid event, checked in a few lines; anything else goes the long way round
        # (parse_event), which finds the first problem and words it, and accepts exactly what this does.
        kind, at_text = raw.get("type"), raw.get("at")
        code = codes.get(kind) if type(kind) is str else None
        if code is not None and type(at_text) is str and len(raw) == sizes[code]:
            if code == STATUS:
                value = raw.get("status")
                ok = type(value) is str and value in statuses
            elif code == AGENT_REPLY or code == ESCALATED:
                ok = True
            else:
                ok = well_formed(raw, code)
            if ok:
                day, minute, second = days.get(at_text[:10]), minutes.get(at_text[10:16]), seconds.get(at_text[16:])
                if day is not None and minute is not None and second is not None:
                    at_us = day + minute + second
                else:
                    at_us = at_us_of(at_text)
                if at_us is not None:
                    if now_us is None or at_us <= now_us:
                        append(_new_tuple(Event, (at_us, seq, lines.get(seq, seq + 1) if lines else seq + 1, code,
                                                  at_text, raw)))
                    continue
        try:
            found = _parse_slow(raw, lines.get(seq, seq + 1) if lines else seq + 1, seq, now_us)
        except EventError as exc:
            errors.append(exc)
            continue
        if found is not None:
            append(found[1])
    events.sort()
    return events, errors


def parse_event(raw: Any, line: int, seq: int, now_us: int | None = None) -> tuple[str, Event] | None:
    """``(ticket_id, Event)`` for a valid event; None for one whose ``at`` is after ``now_us`` (whatever
    else it holds: the log cut at now has no such line); raises :class:`EventError` naming the first
    bad field."""
    return _parse_slow(raw, line, seq, now_us)


def _parse_slow(raw: Any, line: int, seq: int, now_us: int | None) -> tuple[str, Event] | None:
    if type(raw) is not dict:
        if not isinstance(raw, dict):
            raise _bad(line, None, None, f"an event must be a JSON object, got {describe(raw)}")
        raw = dict(raw)
    at_text = raw.get("at")
    at = at_error = None
    if type(at_text) is str:
        try:
            at = parse_rfc3339(at_text)
        except ValueError as exc:
            at_error = str(exc)
    elif "at" not in raw:
        at_error = "missing required field 'at'"
    else:
        at_error = f"at must be an RFC 3339 date-time string with offset, got {describe(at_text)}"
    if at is not None:
        at_us = epoch_us(at)
        if now_us is not None and at_us > now_us:
            return None
    ticket_id = raw.get("ticket_id")
    if type(ticket_id) is not str or not ticket_id or len(ticket_id) > MAX_ID_LENGTH:
        if "ticket_id" not in raw:
            raise _bad(line, None, "ticket_id", "missing required field 'ticket_id'", _event_name(raw))
        what = describe(ticket_id) if not isinstance(ticket_id, str) else \
            ("an empty string" if not ticket_id else f"{len(ticket_id):,} characters")
        raise _bad(line, None, "ticket_id", f"ticket_id must be a non-empty string of at most {MAX_ID_LENGTH} "
                   f"characters, got {what}", _event_name(raw))
    if at_error is not None:
        raise _bad(line, ticket_id, "at", at_error, _event_name(raw))
    kind = raw.get("type")
    code = _CODES.get(kind) if type(kind) is str else None
    if code is None:
        if "type" not in raw:
            raise _bad(line, ticket_id, "type", f"missing required field 'type' (one of {', '.join(EVENT_TYPES)})")
        hint = did_you_mean(kind, EVENT_TYPES) if isinstance(kind, str) else None
        raise _bad(line, ticket_id, "type", f"unknown event type {describe(kind)}"
                   + ("" if hint else f" (one of {', '.join(EVENT_TYPES)})"), suggestion=hint)
    fields = _FIELDS[code]
    _check_keys(raw, fields, line, ticket_id, kind)
    if code == CREATED:
        if not isinstance(raw["ticket"], Mapping):
            raise _bad(line, ticket_id, "ticket", f"ticket must be an object of facts, got {describe(raw['ticket'])}",
                       kind)
    elif code == UPDATED:
        if not isinstance(raw["facts"], Mapping):
            raise _bad(line, ticket_id, "facts", f"facts must be an object, got {describe(raw['facts'])}", kind)
        for name in ("id", "created_at"):
            if name in raw["facts"]:
                raise _bad(line, ticket_id, f"facts.{name}", f"{name} cannot be updated: it is fixed by the "
                           "'created' event", kind)
    elif code == STATUS:
        status = raw["status"]
        if status not in STATUSES or type(status) is not str:
            hint = did_you_mean(status, STATUSES) if isinstance(status, str) else None
            raise _bad(line, ticket_id, "status", f"unknown status {describe(status)}"
                       + ("" if hint else f" (one of {', '.join(STATUSES)})"), kind, hint)
    elif code == PRIORITY:
        priority, reason = raw["priority"], raw["reason"]
        if priority not in PRIORITIES or type(priority) is not str:
            hint = did_you_mean(priority, PRIORITIES) if isinstance(priority, str) else None
            raise _bad(line, ticket_id, "priority", f"priority must be one of {', '.join(PRIORITIES)}, got "
                       f"{describe(priority)}", kind, hint)
        if type(reason) is not str or not reason.strip():
            raise _bad(line, ticket_id, "reason", "reason must be a non-empty string: say why the team "
                       f"re-prioritised, got {describe(reason)}", kind)
        if len(reason) > MAX_REASON_LENGTH:
            raise _bad(line, ticket_id, "reason", f"reason is longer than {MAX_REASON_LENGTH} characters", kind)
    return ticket_id, _new_tuple(Event, (at_us, seq, line, code, at_text, raw))


def _event_name(raw: dict) -> str | None:
    kind = raw.get("type")
    return kind if kind in _CODES else None


def _check_keys(raw: dict, fields: tuple, line: int, ticket_id: str, kind: str) -> None:
    for name in fields:
        if name not in raw:
            raise _bad(line, ticket_id, name, f"missing required field {name!r} for a {kind!r} event", kind)
    allowed = ("ticket_id", "at", "type") + fields
    for key in raw:
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            raise _bad(line, ticket_id, str(key), f"unknown field {str(key)!r} in a {kind!r} event"
                       + ("" if hint else f" (it takes {', '.join(allowed)})"), kind, hint)
