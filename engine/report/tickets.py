"""One JSON record per ticket, as ``triage evaluate`` prints them: a decision or an error record.

``decision_record`` / ``error_record`` give the record as a dict; ``decision_json`` /
``error_json`` give the line ``triage evaluate`` writes (compact JSON, UTF-8, without
the newline), built straight from the decision for speed.  Both hold the same
values.  An error record can always be written: text that UTF-8 cannot hold (a
lone surrogate quoted from the ticket) is written as a ``\\udxxx`` escape.
"""
from __future__ import annotations

from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from ..core.errors import TicketError
    from ..evaluation.decision import Decision
    from ..facts.reader import TicketInput


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
    try:
        return orjson.dumps(record)
    except TypeError:  # a string that is not valid Unicode, quoted from the ticket
        return orjson.dumps(printable(record))


def _message(exc: Exception) -> str:
    from ..core.errors import TriageError

    if isinstance(exc, TriageError):
        return str(exc)
    if isinstance(exc, UnicodeError) or (isinstance(exc, TypeError) and "UTF-8" in str(exc)):
        return "the decision holds text that is not valid Unicode (a lone surrogate) and cannot be written"
    return f"internal error while evaluating this ticket ({type(exc).__name__}: {exc}); please report it"


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


class DecisionWriter:
    """Writes the records of ``triage evaluate``: reads, evaluates and writes ``batch`` tickets at a
    time (each step in a run of its own keeps the interpreter's caches warm: about 10% faster than
    ticket by ticket), one line per ticket, its decision (with its SLA status at ``now``, if given)
    or its error record.  ``evaluated`` and ``failed`` always count exactly the records written,
    even when writing fails part-way (a closed pipe)."""

    def __init__(self, evaluate, write, now: datetime | None = None, batch: int = 128) -> None:
        self.evaluate, self.write, self.now, self.batch = evaluate, write, now, batch
        self.evaluated = self.failed = 0
        self.unreadable_first = False  # the first line was not JSON: a hint the input is in another format

    def run(self, tickets) -> None:
        from ..evaluation.decision import Decision

        evaluate_one, at, write = self.evaluate, self.now, self.write
        lines: list[bytes] = []  # the records of the batch, not written yet
        good = bad = 0           # and their counts
        try:
            while batch := list(islice(tickets, self.batch)):
                results: list = []
                for item in batch:
                    if item.error is not None:
                        results.append(None)
                        continue
                    try:
                        results.append(evaluate_one(item.ticket))
                    except Exception as exc:  # noqa: BLE001 - whatever one ticket does, the rest go on
                        results.append(exc)
                for item, result in zip(batch, results):
                    if isinstance(result, Decision):
                        try:
                            lines.append(result.to_json() if at is None else decision_json(result, at))
                            good += 1
                            continue
                        except Exception as exc:  # noqa: BLE001 - e.g. text that cannot be written
                            result = exc
                    lines.append(error_json(item, result))
                    bad += 1
                if self.evaluated + self.failed == 0 and batch[0].error is not None:
                    self.unreadable_first = batch[0].line == 1 and batch[0].error.startswith("invalid JSON")
                lines.append(b"")
                write(b"\n".join(lines))
                lines.clear()
                self.evaluated, self.failed, good, bad = self.evaluated + good, self.failed + bad, 0, 0
        finally:  # the counts always match the records written
            if lines:
                lines.append(b"")
                write(b"\n".join(lines))
                self.evaluated, self.failed = self.evaluated + good, self.failed + bad
