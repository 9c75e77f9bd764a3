"""The JSON Schemas of the document kinds, and schema errors as located problems.

The files in ``schemas/`` (installed as ``engine.schemas``) are the single
source of truth: editors use them through the ``yaml-language-server``
modeline, and the loader validates every document against them.  This module
turns a ``jsonschema`` error into a ``Problem`` whose path points at the
offending node and whose message says what to write instead.
"""
from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterator

import fastjsonschema

from ..core.errors import Problem, TriageError
from ..core.resources import schemas_dir
from ..core.store import Store
from ..core.suggest import did_you_mean, hint

if TYPE_CHECKING:  # jsonschema is imported when a document fails the fast check (about 40 ms)
    import jsonschema
    from jsonschema.exceptions import ValidationError

API_VERSION = "triage/v1"
KINDS = ("TriagePolicy", "PriorityTargets", "BusinessCalendar", "OperatorSLAs", "Locations", "PolicyTest",
         "SLAClock")


@lru_cache(maxsize=None)
def schema(kind: str) -> dict:
    """The JSON Schema of ``kind`` (a fresh parse per process, cached)."""
    if kind not in KINDS:
        raise KeyError(kind)
    text = (schemas_dir() / f"{kind}.json").read_text("utf-8")
    return json.loads(text)


def document_schema(kind: str) -> dict:
    """The JSON Schema of document ``kind``; ``TriageError`` with a suggestion if the kind is unknown."""
    if kind not in KINDS:
        suggestion = hint(did_you_mean(kind, KINDS))
        raise TriageError(f"unknown kind {kind!r}{suggestion} (kinds: {', '.join(KINDS)}, or Ticket)")
    return schema(kind)


@lru_cache(maxsize=None)
def validator(kind: str) -> "jsonschema.Draft202012Validator":
    import jsonschema

    return jsonschema.Draft202012Validator(schema(kind))


_DURATION_UNITS = ("minutes", "hours", "days", "business_minutes", "business_hours", "business_days")
_PATTERN_HINTS = {
    "(minutes|hours|days|business_minutes|business_hours|business_days)$":
        "is not a duration; write '<number> <unit>' with unit one of " + ", ".join(_DURATION_UNITS),
    "(minutes|hours|days)$":
        "is not a calendar duration; write '<number> <unit>' with unit minutes, hours or days",
    "(minutes|hours)$": "is not a clock duration; write e.g. '8 hours' or '450 minutes'",
    "|24:00)$": "is not an opening interval; write 'HH:MM-HH:MM', e.g. '09:00-17:00' (end may be 24:00)",
    "(0[1-9]|[12][0-9]|3[01])$": "is not a date; write 'YYYY-MM-DD' (or 'MM-DD' for a recurring holiday)",
}


def _pattern_message(value: Any, pattern: str) -> tuple[str, str | None]:
    """``(message, suggestion)`` for a value that does not match ``pattern``."""
    for tail, advice in _PATTERN_HINTS.items():
        if pattern.endswith(tail):
            suggestion = _fix_duration(value) if "minutes" in tail else None
            if suggestion and re.search(pattern, suggestion):
                return f"{value!r} {advice.split(';')[0]}", suggestion
            return f"{value!r} {advice}", None
    if "Z" in pattern and "T" in pattern:
        return f"{value!r} is not an RFC 3339 date-time with offset, e.g. '2024-03-27T16:00:00+01:00'", None
    if pattern.startswith("^[a-z0-9]("):
        return (f"{value!r} is not a valid name; use lower-case letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit"), None
    if pattern.startswith("^[A-Za-z0-9]("):
        return f"{value!r} is not a valid id; use letters, digits, '-', '_', '.' or ':'", None
    if pattern.startswith("^[A-Za-z][A-Za-z0-9_+"):
        return f"{value!r} is not an IANA time zone name like 'Europe/Copenhagen'", None
    return f"{value!r} does not match the expected form {pattern}", None


def _fix_duration(value: Any) -> str | None:
    """Best guess at the duration someone meant: '5 buisness_days' → '5 business_days'."""
    if not isinstance(value, str):
        return None
    m = re.match(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([A-Za-z_ ]+?)\s*$", value)
    if not m:
        return None
    number, unit = m.group(1), m.group(2).strip().lower().replace(" ", "_")
    if unit in _DURATION_UNITS:
        return f"{number} {unit}"
    candidates = list(_DURATION_UNITS) + [u.rstrip("s") for u in _DURATION_UNITS]
    unit = did_you_mean(unit, candidates)
    if unit is None:
        return None
    if not unit.endswith("s"):
        unit += "s"
    return f"{number} {unit}"


_TYPE_NAMES = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
               int: "an integer", float: "a number", type(None): "nothing (null)"}


def _describe(value: Any) -> str:
    text = _TYPE_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return f"{text} {value!r}"
    if isinstance(value, bool):
        return f"{text} {str(value).lower()}"
    return text


@lru_cache(maxsize=None)
def fast_validator(kind: str):
    """A compiled (fastjsonschema) check of the same schema: a quick yes for valid documents.

    It only ever answers "valid"; on anything else the authoritative
    ``jsonschema`` validator runs and produces the located messages.  The
    schemas use no keyword whose meaning differs between draft 2020-12 and
    draft-07, which fastjsonschema implements."""
    compiled = dict(_const_as_enum(schema(kind)), **{"$schema": "http://json-schema.org/draft-07/schema#"})
    # without the exception details (each is the repr of its whole subschema): about 4x quicker to build
    return fastjsonschema.compile(compiled, detailed_exceptions=False)


_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")  # name -> subschema


def _const_as_enum(node: Any, names: bool = False) -> Any:
    """``node`` with each ``const: X`` written ``enum: [X]``, which means the same: fastjsonschema
    (2.22) fails to build ``const`` without exception details.  ``names``: ``node`` maps names to
    subschemas (its keys are names, not keywords)."""
    if isinstance(node, list):
        return [_const_as_enum(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {key: _const_as_enum(value) for key, value in node.items()}
    out = {key: _const_as_enum(value, key in _SCHEMA_MAPS) for key, value in node.items() if key != "const"}
    if "const" in node:
        out["enum"] = [v for v in node.get("enum", [node["const"]]) if v == node["const"]]
    return out


@lru_cache(maxsize=None)
def _schema_digest(kind: str) -> str:
    return hashlib.sha256(json.dumps(schema(kind), sort_keys=True).encode()).hexdigest()


def _verdicts_identity() -> str:
    return f"fastjsonschema {fastjsonschema.VERSION}|{_CHECK_VERSION}"


_CHECK_VERSION = 1  # how fast_validator builds a check from a schema: count up when that changes
VERDICTS = Store("schema-verdicts", _verdicts_identity)  # documents the fast check found valid


def _is_valid(kind: str, doc: Any) -> bool:
    """The fast check's verdict on ``doc``.  A valid document is remembered on disk by its schema's and
    its own digest (``repr`` tells every value type the YAML reader makes apart), so a later run
    that reads the same policy neither checks nor compiles the check (about 30 ms for the shipped set)."""
    key = f"{kind}|{_schema_digest(kind)}|{hashlib.sha256(repr(doc).encode('utf-8', 'surrogatepass')).hexdigest()}"
    try:
        return VERDICTS.remembered(key, lambda: _passes(kind, doc), lambda found: found is True)
    except fastjsonschema.JsonSchemaException:
        return False


def _passes(kind: str, doc: Any) -> bool:
    """True if the fast check passes ``doc``; it raises ``JsonSchemaException`` otherwise."""
    fast_validator(kind)(doc)
    return True


def schema_problems(kind: str, doc: Any, implicit_bools: dict | None = None) -> Iterator[Problem]:
    """Validate one document against its kind's schema; yield located-by-path problems."""
    if _is_valid(kind, doc):
        return
    for error in validator(kind).iter_errors(doc):
        yield from _to_problems(error, implicit_bools or {})


def _to_problems(error: "ValidationError", implicit_bools: dict) -> Iterator[Problem]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        yield from _to_problems(best_match(error.context), implicit_bools)
        return
    path = tuple(error.absolute_path)
    value = error.instance
    v, sch = error.validator, error.schema
    if v == "additionalProperties" and isinstance(value, dict):
        allowed = list(sch.get("properties", {}))
        patterns = [re.compile(p) for p in sch.get("patternProperties", {})]
        for key in value:
            if key in sch.get("properties", {}) or any(p.search(str(key)) for p in patterns):
                continue
            suggestion = did_you_mean(key, allowed)
            where = f"; allowed: {', '.join(allowed)}" if not suggestion and 0 < len(allowed) <= 12 else ""
            yield Problem(f"unknown key {key!r}{where}", path + (key,), suggestion=suggestion, on_key=True)
        return
    if v == "required":
        missing = [k for k in error.validator_value if isinstance(value, dict) and k not in value]
        for key in missing:
            yield Problem(f"missing required key {key!r}", path)
        return
    if v == "propertyNames":
        yield Problem(f"key {error.instance!r} is not allowed here: {error.message}",
                      path + (error.instance,), on_key=True)
        return
    if v == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, list) else [expected]
        words = " or ".join({"object": "a mapping", "array": "a list", "string": "a string",
                             "integer": "an integer", "number": "a number", "boolean": "a boolean",
                             "null": "null"}.get(t, t) for t in expected)
        message = f"expected {words}, got {_describe(value)}"
        if path in implicit_bools and "string" in expected:
            text = implicit_bools[path]
            message += f" (YAML reads an unquoted {text} as a boolean); quote it: '{text}'"
            yield Problem(message, path, suggestion=f"'{text}'", show_suggestion=False)
            return
        yield Problem(message, path)
        return
    if v == "enum":
        options = error.validator_value
        yield Problem(f"{value!r} is not one of {', '.join(map(str, options))}", path,
                      suggestion=did_you_mean(value, options))
        return
    if v == "const":
        expected = error.validator_value
        if path == ("apiVersion",):
            yield Problem(f"unknown apiVersion {value!r}; this version of triage reads {expected!r}", path,
                          suggestion=expected, show_suggestion=False)
        else:
            yield Problem(f"expected {expected!r}, got {value!r}", path, suggestion=expected, show_suggestion=False)
        return
    if v == "pattern":
        message, suggestion = _pattern_message(value, error.validator_value)
        yield Problem(message, path, suggestion=suggestion)
        return
    if v in ("minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength",
             "minimum", "maximum", "uniqueItems"):
        yield Problem(error.message.replace("is too short", "is too short (needs at least "
                      f"{error.validator_value})") if v in ("minItems", "minLength") else error.message, path)
        return
    yield Problem(error.message, path)
