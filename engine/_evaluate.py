"""Evaluating one ticket: validate, match rules, pick the priority, compute due dates.

Which document versions apply is decided by the ticket's ``created_at``: its
calendar date *as written* (in the offset the ticket carries) is compared
with each version's ``effective_from``.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from ._compiled import PRIORITY_ORDER, Compiled, CompiledTriage
from ._decision import Decision, Target
from ._errors import Problem, TicketError, TriageError
from ._facts import parse_rfc3339


def _ticket_day(ticket: Any, latest: CompiledTriage) -> str:
    """The ISO date that selects document versions; validation errors come from the latest vocabulary."""
    raw = ticket.get("created_at") if isinstance(ticket, Mapping) else None
    try:
        if not isinstance(raw, str):
            raise ValueError
        return parse_rfc3339(raw).date().isoformat()
    except ValueError:
        latest.validate_ticket(ticket)  # raises a TicketError naming every bad field
        raise TicketError([Problem("created_at is required to pick the policy version", ("created_at",),
                                   field="created_at")]) from None


def evaluate(compiled: Compiled, provenance: Mapping[str, Any], ticket: Any) -> Decision:
    if not compiled.triage_versions:
        raise TriageError("this policy set has no TriagePolicy; nothing to evaluate tickets with")
    day = _ticket_day(ticket, compiled.triage_versions[-1])
    triage = compiled.triage_at(day)
    if triage is None:
        first = compiled.triage_versions[0].effective_from
        raise TicketError([Problem(f"no TriagePolicy is in effect on {day} (the first takes effect on {first})",
                                   ("created_at",), field="created_at")], _safe_id(ticket))
    facts = triage.validate_ticket(ticket)
    matched = triage.evaluator.match(facts)

    rules_priority, decided_by = triage.default_priority, None
    best = len(PRIORITY_ORDER)
    for rule_id in matched:
        rank = PRIORITY_ORDER.index(triage.rule_index[rule_id].priority)
        if rank < best:
            best, decided_by = rank, rule_id
    if decided_by is not None:
        rules_priority = PRIORITY_ORDER[best]

    override = facts.get("priority_override")
    priority = override["priority"] if override else rules_priority

    targets = compiled.targets_at(triage.targets, day)
    if targets is None or priority not in targets.priorities:
        raise TriageError(f"no targets for {priority} in PriorityTargets {triage.targets!r} on {day}")
    target = targets.priorities[priority]
    found = compiled.calendar_at(target.calendar, day)
    if found is None:
        raise TriageError(f"calendar {target.calendar!r} is not in effect on {day}")
    calendar_doc, calendar = found
    created_at: datetime = facts["created_at"]
    response_due = calendar.add(created_at, target.response)
    resolution_due = calendar.add(created_at, target.resolution)

    used = [triage.doc, targets.doc, calendar_doc]
    operator = None
    location_id = facts.get("location_id")
    if location_id is not None:
        found_book = compiled.operator_at(day)
        if found_book is not None:
            book, docs = found_book
            operator = book.deadlines(location_id, created_at, facts.get("escalated_at"))
            used.extend(docs)

    return Decision(
        ticket_id=facts["id"], priority=priority, rules_priority=rules_priority, decided_by=decided_by,
        matched_rules=tuple(matched),
        override=MappingProxyType(dict(override)) if override else None,
        calendar=calendar.name, created_at=created_at,
        response_due=response_due, resolution_due=resolution_due,
        targets=(Target("response", str(target.response), calendar.name, response_due),
                 Target("resolution", str(target.resolution), calendar.name, resolution_due)),
        operator_sla=operator,
        policy=MappingProxyType({**provenance, "documents": tuple(doc.label for doc in used)}),
        business_calendar=calendar,
    )


def _safe_id(ticket: Any) -> str | None:
    raw = ticket.get("id") if isinstance(ticket, Mapping) else None
    return raw if isinstance(raw, str) and len(raw) <= 200 else None
