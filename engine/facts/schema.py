"""The JSON Schema (draft 2020-12) of a ticket, generated from a TriagePolicy's facts."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .vocabulary import DEFAULT_MAX_LENGTH, MAX_REASON_LENGTH, PRIORITIES, Fact


def ticket_schema(facts: Mapping[str, Fact]) -> dict:
    """A JSON Schema (draft 2020-12) for tickets, generated from the facts."""
    properties = {}
    for name, fact in facts.items():
        prop: dict[str, Any] = {}
        if fact.description:
            prop["description"] = fact.description
        if fact.type == "string":
            prop["type"] = "string"
            prop["maxLength"] = fact.max_length or DEFAULT_MAX_LENGTH
            if fact.pattern is not None:
                prop["pattern"] = fact.pattern
        elif fact.type in ("integer", "number"):
            prop["type"] = fact.type
            if fact.minimum is not None:
                prop["minimum"] = fact.minimum
            if fact.maximum is not None:
                prop["maximum"] = fact.maximum
        elif fact.type == "boolean":
            prop["type"] = "boolean"
        elif fact.type == "datetime":
            prop["type"] = "string"
            prop["format"] = "date-time"
            prop["pattern"] = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
        elif fact.type == "enum":
            prop["type"] = "string"
            prop["enum"] = list(fact.values)
        elif fact.type == "override":
            prop.update({
                "type": "object",
                "properties": {
                    "priority": {"enum": list(PRIORITIES)},
                    "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON_LENGTH},
                },
                "required": ["priority", "reason"],
                "additionalProperties": False,
            })
        properties[name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Ticket",
        "type": "object",
        "properties": properties,
        "required": [name for name, fact in facts.items() if fact.required],
        "additionalProperties": False,
    }
