"""``GET /openapi.json``: an OpenAPI 3.1 document of the service.

Its ``Ticket`` schema is the one ``triage schema Ticket`` prints, generated from the facts of the
loaded TriagePolicy (so it changes with a reload); the records are described by their fields.
"""
from __future__ import annotations

from typing import Any


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_REF = "#/components/schemas/"
_NOW = {"name": "now", "in": "query", "required": False, "schema": {"type": "string", "format": "date-time"},
        "description": "RFC 3339 instant with offset; evaluate: adds an SLA status; clock/queue: read at "
                       "(default: the current time)"}
_ERRORS = {
    "400": _json({"$ref": _REF + "Message"}, "Malformed JSON (the error record says where), or a bad ?now="),
    "401": _json({"$ref": _REF + "Message"}, "Missing or wrong bearer token"),
    "413": _json({"$ref": _REF + "Message"}, "Body over the size limit (default 10 MiB)"),
    "503": _json({"$ref": _REF + "Message"}, "No valid policy set loaded yet"),
}


def _post(summary: str, body: dict, ok: dict, extra: dict | None = None, now: bool = True) -> dict:
    return {"post": {"summary": summary, "parameters": [_NOW] if now else [],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                     "responses": {"200": ok, **(extra or {}), **_ERRORS}, "security": [{"bearer": []}]}}


def _get(summary: str, ok: dict, secured: bool = True) -> dict:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": ok}}
    if secured:
        op["security"] = [{"bearer": []}]
        op["responses"]["401"] = _ERRORS["401"]
    return {"get": op}


def openapi_document(ticket_schema: dict | None) -> dict:
    ticket = dict(ticket_schema or {"type": "object"})
    ticket.pop("$schema", None)
    tickets = {"oneOf": [{"$ref": _REF + "Ticket"}, {"type": "array", "items": {"$ref": _REF + "Ticket"}}]}
    records = {"type": "array", "items": {"oneOf": [{"$ref": _REF + "Decision"}, {"$ref": _REF + "ErrorRecord"}]}}
    events = {"type": "array", "items": {"type": "object"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "triage decision service", "version": "1",
                 "description": "Ticket priorities and SLA due dates from the loaded policy set; the same JSON "
                                "records as the `triage` command line."},
        "paths": {
            "/v1/evaluate": _post("Decide a ticket (object) or tickets (array)", tickets,
                                  _json({"oneOf": [{"$ref": _REF + "Decision"}, records]},
                                        "A decision, or one record per array element in order"),
                                  {"422": _json({"$ref": _REF + "ErrorRecord"}, "The ticket is invalid")}),
            "/v1/explain": _post("Explain one ticket's decision", {"$ref": _REF + "Ticket"},
                                 _json({"type": "object"}, "Decision, matched rules, business-time walks"),
                                 {"422": _json({"$ref": _REF + "ErrorRecord"}, "The ticket is invalid")}, now=False),
            "/v1/clock": _post("SLA clock of each ticket in an event log", events,
                               _json({"type": "array", "items": {"type": "object"}}, "Clock records and error records")),
            "/v1/queue": _post("Open tickets of an event log, most urgent first", events,
                               _json({"type": "array", "items": {"type": "object"}}, "Clock records, then errors")),
            "/v1/policy": _get("The loaded policy set and the last reload error",
                               _json({"type": "object"}, "digest, revision, documents, loaded_at, last_reload_error")),
            "/v1/vocabulary": _get("Ticket facts, priorities and targets", _json({"type": "object"}, "The vocabulary")),
            "/healthz": _get("The process is alive", _json({"type": "object"}, "alive"), secured=False),
            "/readyz": _get("A valid policy set is loaded", _json({"type": "object"}, "ready"), secured=False),
            "/metrics": _get("Prometheus metrics", {"description": "Prometheus text format"}, secured=False),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Ticket": ticket,
                "Decision": {"type": "object", "required": ["ticket_id", "priority", "response_due", "policy"],
                             "properties": {"ticket_id": {"type": "string"},
                                            "priority": {"enum": ["P1", "P2", "P3", "P4"]},
                                            "response_due": {"type": "string", "format": "date-time"},
                                            "resolution_due": {"type": ["string", "null"], "format": "date-time"},
                                            "policy": {"type": "object"}}},
                "ErrorRecord": {"type": "object", "required": ["line", "ticket_id", "field", "error"],
                                "properties": {"line": {"type": "integer"}, "index": {"type": "integer"},
                                               "ticket_id": {"type": ["string", "null"]},
                                               "field": {"type": ["string", "null"]}, "error": {"type": "string"},
                                               "problems": {"type": "array", "items": {"type": "object"}}}},
                "Message": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            },
        },
    }
