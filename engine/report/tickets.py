"""One JSON record per ticket, as ``triage evaluate`` prints them: a decision or an error record."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

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


def error_record(item: TicketInput, exc: TicketError | None = None) -> dict:
    """The record for a ticket that could not be evaluated.

    Without ``exc`` the input itself was unreadable (``item.error``); with it, the
    record names the first bad field and ``problems`` lists every one.
    """
    if exc is None:
        return {"line": item.line, "ticket_id": None, "field": None, "error": item.error}
    problems = [{"field": p.field, "error": str(p.at(path=()))} for p in exc.problems]
    first = problems[0] if problems else {"field": None, "error": str(exc)}
    return {"line": item.line, "ticket_id": exc.ticket_id, "field": first["field"], "error": first["error"],
            "problems": problems}
