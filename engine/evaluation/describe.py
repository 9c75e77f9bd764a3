"""The policy set and one decision as JSON-ready data, for services and forms.

``vocabulary_record``: the ticket facts of the latest TriagePolicy (type, enum values, bounds,
description) and the priorities each PriorityTargets names, with their targets as written.
``explanation_record``: what ``explain`` tells a person, as data: the rules that matched (the
deciding one marked), the route, and for each due date the business-time walk.
"""
from __future__ import annotations

from typing import Any

from ..facts.schema import ticket_schema
from ..facts.vocabulary import PRIORITIES
from .compiled_policy import Compiled
from .decision import Decision
from .explain import explain_lines


def vocabulary_record(compiled: Compiled) -> dict:
    triage = compiled.triage_versions[-1] if compiled.triage_versions else None
    facts = []
    for name, fact in (triage.facts.items() if triage else ()):
        entry: dict[str, Any] = {"name": name, "type": fact.type, "required": fact.required,
                                 "description": fact.description or None}
        if fact.type == "enum":
            entry["values"] = list(fact.values)
        if fact.minimum is not None:
            entry["minimum"] = fact.minimum
        if fact.maximum is not None:
            entry["maximum"] = fact.maximum
        if fact.max_length is not None:
            entry["max_length"] = fact.max_length
        if fact.pattern is not None:
            entry["pattern"] = fact.pattern
        if fact.type == "override":
            entry["priorities"] = list(PRIORITIES)
        facts.append(entry)
    targets = {}
    for name, versions in compiled.target_versions.items():
        latest = versions[-1]
        targets[name] = {
            "description": latest.doc.data.get("metadata", {}).get("description"),
            "priorities": {p: {"name": t.name, "description": t.description, "calendar": t.calendar,
                               "response": t.response_text, "resolution": t.resolution_text}
                           for p, t in latest.priorities.items()}}
    # each calendar's zone: a due date is written in it, and a person reads it with the zone's name
    calendars = {name: {"timezone": calendar.timezone} for name, calendar in sorted(compiled.calendars.items())}
    return {"facts": facts, "priorities": list(PRIORITIES), "targets": targets,
            "default_targets": triage.targets if triage else None, "calendars": calendars,
            "ticket_schema": ticket_schema(triage.facts) if triage else None}


def explanation_record(compiled: Compiled, decision: Decision) -> dict:
    triage = compiled.triage_at(decision.created_at.date().isoformat())
    rules = triage.rule_index
    matched = [{"id": rule_id, "kind": rules[rule_id].kind, "priority": rules[rule_id].priority,
                "description": rules[rule_id].description, "decided": rule_id == decision.decided_by}
               for rule_id in decision.matched_rules]
    cal = decision.business_calendar
    due = [{"kind": t.kind, "due": t.due.isoformat(), "duration": str(t.duration),
            "walk": cal.explain_add(decision.created_at, t.duration)} for t in decision.targets]
    route = None
    if decision.route is not None:
        route = {"id": decision.route, "description": rules[decision.route].description}
    return {"decision": decision.to_dict(), "matched_rules": matched, "route": route,
            "calendar": {"name": cal.name, "timezone": str(cal.timezone)}, "due": due,
            "lines": explain_lines(compiled, decision)}
