"""One JSON record per ticket, as ``triage evaluate`` prints them: a decision or an error record.

``decision_record`` / ``error_record`` give the record as a dict; ``decision_json`` /
``error_json`` give the line ``triage evaluate`` writes (compact JSON, UTF-8, without
the newline), built straight from the decision for speed.  Both hold the same
values.  An error record can always be written: text that UTF-8 cannot hold (a
lone surrogate quoted from the ticket) is written as a ``\\udxxx`` escape.

``write_records`` is the loop of ``triage evaluate``: every ticket read, evaluated,
and its record written, a batch at a time.
"""
from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterable

import orjson

from ..evaluation.decision import Decision

if TYPE_CHECKING:
    from ..core.errors import TicketError
    from ..facts.reader import TicketInput


class Tally:
    """The records written so far by :func:`write_records`: it counts a batch once it is written."""

    __slots__ = ("evaluated", "failed", "unreadable_first")

    def __init__(self) -> None:
        self.evaluated = 0  # decisions
        self.failed = 0     # error records
        self.unreadable_first = False  # the input's first line was not JSON (a hint of another format)


def write_records(evaluate: Callable[[Any], Decision], batches: Iterable[list[TicketInput]],
                  write: Callable[[bytes], Any], tally: Tally, now: datetime | None = None) -> None:
    """Evaluate each ``TicketInput`` of ``batches`` (lists of them, as ``read_ticket_batches`` gives)
    with ``evaluate`` and ``write`` one line per ticket: its decision (with its SLA status at ``now``
    when given), or an error record.  Whatever one ticket does, the rest go on.  ``tally`` counts the
    records written, also when this stops on an exception.

    A batch at a time, written with one call."""
    make = Decision.to_json if now is None else partial(decision_json, now=now)
    for batch in batches:
        if not batch:
            continue
        if tally.evaluated + tally.failed == 0 and batch[0].error is not None:
            tally.unreadable_first = batch[0].line == 1 and batch[0].error.startswith("invalid JSON")
        lines: list = []
        append = lines.append
        good = 0
        try:
            for item in batch:
                if item[2] is None:  # readable (item.error; by position, which is quicker)
                    try:
                        append(make(evaluate(item[1])))  # item.ticket
                        good += 1
                        continue
                    except Exception as exc:  # noqa: BLE001 - whatever one ticket does, the rest go on
                        append(error_json(item, exc))
                else:
                    append(error_json(item))
        finally:  # the records made so far are written, and then counted, whatever happened
            bad = len(lines) - good
            append(b"")
            write(b"\n".join(lines))
            tally.evaluated += good
            tally.failed += bad


def decision_record(decision: Decision, now: datetime | None = None) -> dict:
    """``decision.to_dict()``, plus its SLA ``status`` at ``now`` when given."""
    record = decision.to_dict()
    if now is not None:
        record["status"] = decision.status_at(now)
    return record


def decision_json(decision: Decision, now: datetime | None = None) -> bytes:
    """``decision_record`` as the line ``triage evaluate`` writes (``decision.to_json()``, and the status)."""
    if now is None:
        return decision.to_json()
    return decision.to_json()[:-1] + b',"status":' + orjson.dumps(decision.status_at(now)) + b"}"


def error_record(item: TicketInput, exc: TicketError | None = None) -> dict:
    """The record for a ticket that could not be evaluated.

    Without ``exc`` the input itself was unreadable (``item.error``); with it, the
    record names the first bad field and ``problems`` lists every one.  ``index`` is
    there for an element of a JSON array or YAML list: its position, from 0.
    """
    where: dict[str, Any] = {"line": item.line}
    if item.index is not None:
        where["index"] = item.index
    if exc is None:
        return {**where, "ticket_id": None, "field": None, "error": item.error}
    problems = [{"field": p.field, "error": str(p.at(path=()))} for p in exc.problems]
    first = problems[0] if problems else {"field": None, "error": str(exc)}
    return {**where, "ticket_id": exc.ticket_id, "field": first["field"], "error": first["error"],
            "problems": problems}


def error_json(item: TicketInput, exc: Exception | None = None) -> bytes:
    """``error_record`` as the line ``triage evaluate`` writes.  ``exc`` may be any error met while
    evaluating the ticket or writing its decision: a ``TicketError`` gives its fields, anything
    else its message."""
    from ..core.errors import TicketError

    if exc is None or isinstance(exc, TicketError):
        record = error_record(item, exc)
    else:
        record = {**error_record(item), "error": _message(exc)}
    return printable_json(record)


def _message(exc: Exception) -> str:
    from ..core.errors import TriageError

    if isinstance(exc, TriageError):
        return str(exc)
    if isinstance(exc, UnicodeError) or (isinstance(exc, TypeError) and "UTF-8" in str(exc)):
        return "the decision holds text that is not valid Unicode (a lone surrogate) and cannot be written"
    return f"internal error while evaluating this ticket ({type(exc).__name__}: {exc}); please report it"


def printable_json(value: Any) -> bytes:
    """``value`` as compact JSON; text that is not valid Unicode (a lone surrogate quoted from the
    input) is written as ``\\udxxx`` text (``printable``) instead of failing."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return orjson.dumps(printable(value))


def printable(value: Any) -> Any:
    """``value`` with every string made writable as UTF-8: lone surrogates become ``\\udxxx`` text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(v) for v in value]
    return value
