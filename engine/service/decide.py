"""The service's answers, computed from a request body: the same records as ``triage evaluate``,
``clock``, ``queue`` and ``explain``, as JSON bytes with an HTTP status.

The body is read with the CLI's reader as ``--input-format json`` does: a JSON object is one
ticket, a JSON array one ticket per element.  So a decision is ``Decision.to_json()`` byte for byte
and an error record is ``error_json``'s, naming the line, index, ticket id and field.  Nothing here
knows about HTTP beyond the status numbers, and nothing here raises for bad input.
"""
from __future__ import annotations

import io
from collections import Counter
from datetime import datetime
from typing import Any, Callable, NamedTuple

import orjson

from ..core.errors import TicketError
from ..facts.reader import TicketInput, read_json_array, read_tickets
from ..report.tickets import decision_json, error_json, printable_json


_LEADING = b" \t\r\n\xef\xbb\xbf"  # whitespace and a byte order mark
EMPTY_BODY = "the body is empty: send a JSON object, or a JSON array of them"


class Answer(NamedTuple):
    status: int
    body: bytes
    priorities: Any = None   # Counter of the priorities decided, for the metrics
    failed: int = 0          # error records among the tickets


def message(status: int, text: str, **extra: Any) -> Answer:
    return Answer(status, orjson.dumps({"error": text, **extra}))


def read(body: bytes) -> tuple[list[TicketInput], bool, Answer | None]:
    """(items, is_array, None) or ([], False, the 400 answer) for unreadable JSON."""
    is_array = body.lstrip(_LEADING)[:1] == b"["
    fast = read_json_array(body) if is_array else None
    items = fast if fast is not None else list(read_tickets(io.BytesIO(body), format="json"))
    if not items:
        if is_array:
            return [], True, None
        return [], False, message(400, EMPTY_BODY)
    for item in items:
        if item.error is not None and (not is_array or item.error.startswith("invalid JSON")
                                       or item.index is None):
            return [], False, Answer(400, error_json(item))
    return items, is_array, None


def parse_now(value: str | None, policies) -> tuple[datetime | None, Answer | None]:
    """``?now=``: an RFC 3339 instant with offset inside the calendars' years (as the CLI's ``--now``)."""
    if value is None:
        return None, None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None, message(400, f"now: {value!r} is not an ISO 8601 date-time like 2024-03-27T16:00:00+01:00",
                             field="now")
    if at.tzinfo is None:
        return None, message(400, f"now: {value!r} has no UTC offset; give one, like 2024-03-27T16:00:00+01:00",
                             field="now")
    if not policies.supports(at):
        first, last = policies.supported_years
        return None, message(400, f"now: {value!r} is outside the years the calendars support ({first}-{last})",
                             field="now")
    return at, None


def _one(evaluate: Callable, item: TicketInput, at: datetime | None, log) -> tuple[bool, bytes, Any]:
    """(ok, record, decision or None) for one readable ticket, as ``triage evaluate`` writes it."""
    try:
        decision = evaluate(item.ticket)
        line = decision.to_json() if at is None else decision_json(decision, at)
    except Exception as exc:  # noqa: BLE001 - a TicketError names the field; anything else its message
        return False, error_json(item, exc), None
    if log is not None:
        log.record(decision, item.ticket)
    return True, line, decision


def evaluate(policies, body: bytes, at: datetime | None, log=None) -> Answer:
    """``POST /v1/evaluate``: 200 with a decision, or an array of records; 422 for one bad ticket."""
    items, is_array, refused = read(body)
    if refused is not None:
        return refused
    run = policies.evaluate
    if not is_array:
        ok, line, decision = _one(run, items[0], at, log)
        if not ok:
            return Answer(422, line, None, 1)
        return Answer(200, line, {decision.priority: 1})
    lines, priorities, failed = [], Counter(), 0
    for item in items:
        if item.error is not None:
            lines.append(error_json(item))
            failed += 1
            continue
        ok, line, decision = _one(run, item, at, log)
        lines.append(line)
        if ok:
            priorities[decision.priority] += 1
        else:
            failed += 1
    return Answer(200, b"[" + b",".join(lines) + b"]", priorities, failed)


def explain(policies, body: bytes) -> Answer:
    """``POST /v1/explain``: one ticket's explanation as data."""
    items, is_array, refused = read(body)
    if refused is not None:
        return refused
    if is_array:
        return message(400, "explain takes exactly one ticket, as a JSON object")
    try:
        return Answer(200, printable_json(policies.explanation(items[0].ticket)))
    except TicketError as exc:
        return Answer(422, error_json(items[0], exc))


def clock(policies, body: bytes, at: datetime | None, queue: bool) -> Answer:
    """``POST /v1/clock`` / ``POST /v1/queue``: the records ``triage clock`` / ``triage queue`` write
    (JSON lines there), as one JSON array."""
    items, _, refused = read(body)
    if refused is not None:
        return refused
    results = policies.queue(items, now=at) if queue else policies.clock(items, now=at)
    records = [r.to_dict() for r in results]  # queue: the open tickets most urgent first, then the errors
    return Answer(200, printable_json(records))

