"""The ticket vocabulary (TriagePolicy ``spec.facts``) and ticket validation.

Conventions
-----------
* A fact declaration is a mapping with ``type`` (one of :data:`FACT_TYPES`),
  ``description``, ``required`` (default false), ``values`` (enum only),
  ``minimum``/``maximum`` (integer/number), ``max_length`` (string, default
  1000) and ``pattern`` (string; a Python regex applied with ``re.search``,
  like JSON Schema's ``pattern``).
* Check paths are relative to the facts mapping, e.g. ``("users_affected", "minimum")``.
* Datetimes are RFC 3339 strings **with** an offset (``Z`` or ``+hh:mm``); the
  date/time separator may be ``T``, ``t`` or a space, seconds are required and
  fractions are truncated to microseconds.  A YAML loader may already have
  produced an aware ``datetime``; that is accepted too.  Naive values are errors.
* A *normalised ticket* is a plain ``dict`` holding only declared facts, with
  Python values: ``str`` for string/enum, ``int`` for integer, ``float`` for
  number, ``bool`` for boolean, an aware ``datetime`` for datetime and a new
  ``{"priority": ..., "reason": ...}`` dict for override.  Treat it as read-only.
* Integer facts accept JSON numbers with a zero fraction (``3.0``), as JSON
  Schema does, and store them as ``int``.  ``bool`` is never a number.
"""
from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from ..core.errors import PolicyError, Problem, TicketError

FACT_TYPES = ("string", "integer", "number", "boolean", "datetime", "enum", "override")
PRIORITIES = ("P1", "P2", "P3", "P4")
DECLARATION_KEYS = ("type", "description", "required", "values", "minimum", "maximum", "max_length", "pattern")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_NAMES = ("all", "any", "not", "condition")  # the condition language's combinators and references
MAX_FACTS = 100  # durable-rules fails on facts with more than 255 properties
DEFAULT_MAX_LENGTH = 1000
MAX_REASON_LENGTH = 1000
MAX_EXTRA_FIELDS = 20  # unknown fields a ticket may carry and still get one problem each

_fromisoformat = datetime.fromisoformat
NormalisedTicket = dict  # fact name -> Python value; only declared facts (see module docstring)

_RFC3339_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?$"
)


@dataclass(frozen=True)
class Fact:
    """One declared fact.  ``max_length`` is set for strings only; ``values`` for enums only."""

    name: str
    type: str
    description: str = ""
    required: bool = False
    values: tuple[str, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None
    max_length: int | None = None
    pattern: str | None = None


class FactSet(dict):
    """``dict[str, Fact]`` as returned by :func:`parse_facts`; caches its compiled ticket validator."""

    _validator: Callable[[object], NormalisedTicket] | None = None

    def validator(self) -> Callable[[object], NormalisedTicket]:
        if self._validator is None:
            self._validator = compile_ticket_validator(self)
        return self._validator


# --------------------------------------------------------------------------- helpers


def did_you_mean(word: object, candidates) -> str | None:
    """The closest candidate to ``word`` (difflib), or None."""
    found = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return found[0] if found else None


def _mean_suffix(suggestion: str | None) -> str:
    return f"; did you mean {suggestion!r}?" if suggestion else ""


def json_type(value: object) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, datetime):
        return "datetime"
    return type(value).__name__


def describe(value: object) -> str:
    """``string '12'``, ``boolean true``, ``null``, ``array`` ... for messages."""
    kind = json_type(value)
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"string {text!r}"
    if isinstance(value, (int, float)):
        return f"{kind} {value!r}"
    return kind


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 date-time with offset; ``ValueError`` with a clear message otherwise."""
    if type(text) is str and len(text) == 25 and text[19] in "+-" and text[10] in "Tt " and text[4] == "-" \
            and text[7] == "-" and text[13] == ":" and text[16] == ":" and text[22] == ":":
        # The common form, 2024-04-02T09:30:00+02:00, without the regex (its cost dominated parsing).
        # With these separators, fromisoformat succeeds only if every other character is an ASCII
        # digit, i.e. only where the regex below would match and return fromisoformat(text) too.
        try:
            return _fromisoformat(text)
        except ValueError:
            pass  # the full path below gives the message
    m = _RFC3339_RE.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not an RFC 3339 datetime (e.g. 2024-04-02T09:30:00+02:00)")
    date, clock, frac, offset = m.groups()
    if offset is None:
        raise ValueError(f"{text!r} has no UTC offset; add 'Z' or ±hh:mm (e.g. 2024-04-02T09:30:00+02:00)")
    if frac is None and offset != "z":  # the common form: fromisoformat reads it as is
        try:
            return datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid datetime: {exc}") from None
    iso = f"{date}T{clock}"
    if frac:
        iso += "." + frac[:6].ljust(6, "0")
    iso += "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(iso)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid datetime: {exc}") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and not (isinstance(value, float) and not math.isfinite(value)))


# --------------------------------------------------------------------------- declarations


def check_facts(spec_facts: object) -> Iterator[Problem]:
    """Yield every problem in a ``spec.facts`` mapping (paths relative to it)."""
    if not isinstance(spec_facts, Mapping):
        yield Problem(f"facts must be a mapping of fact name to declaration, got {json_type(spec_facts)}")
        return
    if len(spec_facts) > MAX_FACTS:
        yield Problem(f"too many facts ({len(spec_facts)}); at most {MAX_FACTS} are supported")
    for name, decl in spec_facts.items():
        yield from _check_declaration(name, decl)
    yield from _check_builtin(spec_facts, "id", "string", "a required string")
    yield from _check_builtin(spec_facts, "created_at", "datetime", "a required datetime")


def _check_builtin(spec_facts: Mapping, name: str, ftype: str, what: str) -> Iterator[Problem]:
    decl = spec_facts.get(name)
    if decl is None:
        yield Problem(f"the {name!r} fact must be declared ({what})", suggestion=f"{name}: {{type: {ftype}, required: true}}")
        return
    if not isinstance(decl, Mapping):
        return  # reported by _check_declaration
    if decl.get("type") != ftype:
        yield Problem(f"the {name!r} fact must have type {ftype}", (name, "type"), field=name)
    if decl.get("required") is not True:
        yield Problem(f"the {name!r} fact must be required (required: true)", (name, "required"), field=name)


def _check_declaration(name: object, decl: object) -> Iterator[Problem]:
    if not isinstance(name, str) or not NAME_RE.match(name):
        yield Problem(f"invalid fact name {str(name)!r}: use lowercase letters, digits and underscores, "
                      "starting with a letter", (name,))
        return
    if name in RESERVED_NAMES:
        yield Problem(f"{name!r} cannot be a fact name: all, any and not are condition keywords", (name,))
        return
    if not isinstance(decl, Mapping):
        yield Problem(f"fact declaration must be a mapping, got {json_type(decl)}", (name,))
        return
    for key in decl:
        if key not in DECLARATION_KEYS:
            hint = did_you_mean(key, DECLARATION_KEYS)
            yield Problem(f"unknown key {str(key)!r}{_mean_suffix(hint)}", (name, key), suggestion=hint)
    ftype = decl.get("type")
    if "type" not in decl:
        yield Problem("missing 'type'", (name,), suggestion=f"one of {', '.join(FACT_TYPES)}")
    elif ftype not in FACT_TYPES:
        hint = did_you_mean(ftype, FACT_TYPES)
        yield Problem(f"unknown type {str(ftype)!r}; expected one of {', '.join(FACT_TYPES)}{_mean_suffix(hint)}",
                      (name, "type"), suggestion=hint)
        ftype = None
    if "description" in decl and not isinstance(decl["description"], str):
        yield Problem("'description' must be a string", (name, "description"))
    if "required" in decl and not isinstance(decl["required"], bool):
        yield Problem("'required' must be true or false", (name, "required"))
    if ftype is None:
        return
    yield from _check_values(name, ftype, decl)
    yield from _check_bounds(name, ftype, decl)
    yield from _check_string_keys(name, ftype, decl)


def _check_values(name: str, ftype: str, decl: Mapping) -> Iterator[Problem]:
    if ftype != "enum":
        if "values" in decl:
            yield Problem("'values' is only allowed on enum facts", (name, "values"))
        return
    if "values" not in decl:
        yield Problem(f"enum fact {name!r} needs a non-empty 'values' list", (name,))
        return
    values = decl["values"]
    if not isinstance(values, (list, tuple)) or not values:
        yield Problem("'values' must be a non-empty list of strings", (name, "values"))
        return
    seen: set[str] = set()
    for i, value in enumerate(values):
        if not isinstance(value, str):
            yield Problem(f"enum value must be a string, got {describe(value)}", (name, "values", i))
        elif value in seen:
            yield Problem(f"duplicate enum value {value!r}", (name, "values", i))
        else:
            seen.add(value)


def _check_bounds(name: str, ftype: str, decl: Mapping) -> Iterator[Problem]:
    bounds = {}
    for key in ("minimum", "maximum"):
        if key not in decl:
            continue
        value = decl[key]
        if ftype not in ("integer", "number"):
            yield Problem(f"{key!r} is only allowed on integer and number facts", (name, key))
        elif ftype == "integer" and not _is_int(value):
            yield Problem(f"{key!r} must be an integer, got {describe(value)}", (name, key))
        elif not _is_number(value):
            yield Problem(f"{key!r} must be a finite number, got {describe(value)}", (name, key))
        else:
            bounds[key] = value
    if len(bounds) == 2 and bounds["minimum"] > bounds["maximum"]:
        yield Problem(f"minimum {bounds['minimum']!r} is greater than maximum {bounds['maximum']!r}", (name, "minimum"))


def _check_string_keys(name: str, ftype: str, decl: Mapping) -> Iterator[Problem]:
    if "max_length" in decl:
        value = decl["max_length"]
        if ftype != "string":
            yield Problem("'max_length' is only allowed on string facts", (name, "max_length"))
        elif not _is_int(value) or value < 1:
            yield Problem(f"'max_length' must be a positive integer, got {describe(value)}", (name, "max_length"))
    if "pattern" in decl:
        value = decl["pattern"]
        if ftype != "string":
            yield Problem("'pattern' is only allowed on string facts", (name, "pattern"))
        elif not isinstance(value, str):
            yield Problem(f"'pattern' must be a string, got {describe(value)}", (name, "pattern"))
        else:
            try:
                re.compile(value)
            except re.error as exc:
                yield Problem(f"invalid regular expression: {exc}", (name, "pattern"))


def parse_facts(spec_facts: Mapping) -> FactSet:
    """Build a :class:`FactSet` from ``spec.facts``; ``PolicyError`` with every problem if invalid."""
    problems = [p for p in check_facts(spec_facts) if p.is_error]
    if problems:
        raise PolicyError(problems)
    facts = FactSet()
    for name, decl in spec_facts.items():
        ftype = decl["type"]
        facts[name] = Fact(
            name=name,
            type=ftype,
            description=decl.get("description", ""),
            required=decl.get("required", False),
            values=tuple(decl.get("values", ())),
            minimum=decl.get("minimum"),
            maximum=decl.get("maximum"),
            max_length=decl.get("max_length", DEFAULT_MAX_LENGTH) if ftype == "string" else None,
            pattern=decl.get("pattern"),
        )
    return facts


# --------------------------------------------------------------------------- JSON Schema


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


# --------------------------------------------------------------------------- tickets


class _Invalid(Exception):
    """Raised by a field check; carries the message and an optional suggestion."""

    def __init__(self, message: str, suggestion: str | None = None):
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


def _string_check(fact: Fact) -> Callable[[object], object]:
    limit = fact.max_length or DEFAULT_MAX_LENGTH
    search = re.compile(fact.pattern).search if fact.pattern is not None else None
    pattern = fact.pattern

    def check(value):
        if type(value) is not str:
            if not isinstance(value, str):
                raise _Invalid(f"expected a string, got {describe(value)}")
            value = str(value)
        if len(value) > limit:
            raise _Invalid(f"string is longer than {limit} characters ({len(value)})")
        if search is not None and search(value) is None:
            raise _Invalid(f"{describe(value)} does not match pattern {pattern!r}")
        return value

    return check


def _range_check(fact: Fact) -> Callable[[object], None] | None:
    low, high = fact.minimum, fact.maximum
    if low is None and high is None:
        return None

    def in_range(value):
        if low is not None and value < low:
            raise _Invalid(f"{value!r} is below the minimum {low!r}")
        if high is not None and value > high:
            raise _Invalid(f"{value!r} is above the maximum {high!r}")

    return in_range


def _integer_check(fact: Fact) -> Callable[[object], object]:
    in_range = _range_check(fact)

    def check(value):
        if type(value) is not int:
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                value = int(value)
            elif _is_int(value):
                value = int(value)
            else:
                raise _Invalid(f"expected an integer, got {describe(value)}")
        if in_range is not None:
            in_range(value)
        return value

    return check


def _number_check(fact: Fact) -> Callable[[object], object]:
    in_range = _range_check(fact)

    def check(value):
        kind = type(value)
        if kind is not float:
            if kind is int or _is_int(value):
                try:
                    value = float(value)
                except OverflowError:
                    raise _Invalid(f"number {value!r} is too large") from None
            elif isinstance(value, float):
                value = float(value)
            else:
                raise _Invalid(f"expected a number, got {describe(value)}")
        if not math.isfinite(value):
            raise _Invalid(f"number must be finite, got {value!r}")
        if in_range is not None:
            in_range(value)
        return value

    return check


def _boolean_check(fact: Fact) -> Callable[[object], object]:
    def check(value):
        if value is True or value is False:
            return value
        raise _Invalid(f"expected true or false, got {describe(value)}")

    return check


def _datetime_check(fact: Fact) -> Callable[[object], object]:
    def check(value):
        if isinstance(value, str):
            try:
                return parse_rfc3339(value)
            except ValueError as exc:
                raise _Invalid(str(exc)) from None
        if isinstance(value, datetime):
            if value.utcoffset() is None:
                raise _Invalid(f"datetime {value.isoformat()} has no UTC offset")
            return value
        raise _Invalid(f"expected an RFC 3339 datetime string, got {describe(value)}")

    return check


def _enum_check(fact: Fact) -> Callable[[object], object]:
    allowed = frozenset(fact.values)
    listing = ", ".join(fact.values)

    def check(value):
        if type(value) is str and value in allowed:
            return value
        if not isinstance(value, str):
            raise _Invalid(f"expected one of {listing}, got {describe(value)}")
        hint = did_you_mean(value, fact.values)
        raise _Invalid(f"{value!r} is not one of {listing}{_mean_suffix(hint)}", hint)

    return check


def _override_check(fact: Fact) -> Callable[[object], object]:
    def check(value):
        if not isinstance(value, Mapping):
            raise _Invalid(f"expected an object {{priority, reason}}, got {describe(value)}")
        extra = [k for k in value if k not in ("priority", "reason")]
        if extra:
            hint = did_you_mean(extra[0], ("priority", "reason"))
            raise _Invalid(f"unknown key {str(extra[0])!r} in override{_mean_suffix(hint)}", hint)
        priority, reason = value.get("priority"), value.get("reason")
        if priority not in PRIORITIES or not isinstance(priority, str):
            if "priority" not in value:
                raise _Invalid("override needs 'priority' (one of P1, P2, P3, P4)")
            hint = did_you_mean(str(priority).upper(), PRIORITIES) if isinstance(priority, str) else None
            raise _Invalid(f"override priority must be one of P1, P2, P3, P4, got {describe(priority)}"
                           f"{_mean_suffix(hint)}", hint)
        if "reason" not in value:
            raise _Invalid("override needs a 'reason'")
        if not isinstance(reason, str) or not reason.strip():
            raise _Invalid(f"override reason must be a non-empty string, got {describe(reason)}")
        if len(reason) > MAX_REASON_LENGTH:
            raise _Invalid(f"override reason is longer than {MAX_REASON_LENGTH} characters")
        return {"priority": priority, "reason": reason}

    return check


_CHECK_FACTORIES: dict[str, Callable[[Fact], Callable[[object], object]]] = {
    "string": _string_check,
    "integer": _integer_check,
    "number": _number_check,
    "boolean": _boolean_check,
    "datetime": _datetime_check,
    "enum": _enum_check,
    "override": _override_check,
}


def compile_ticket_validator(facts: Mapping[str, Fact]) -> Callable[[object], NormalisedTicket]:
    """Compile per-fact checks once; the returned function validates and normalises one ticket."""
    checks = {name: _CHECK_FACTORIES[fact.type](fact) for name, fact in facts.items()}
    names = tuple(facts)
    required = tuple(name for name, fact in facts.items() if fact.required)
    id_fact = facts.get("id")
    id_check = checks.get("id") if id_fact is not None and id_fact.type == "string" else None

    def fail(ticket, problems):
        ticket_id = None
        if id_check is not None and isinstance(ticket, Mapping):
            try:
                raw = ticket.get("id")
                if raw is not None:
                    ticket_id = id_check(raw) or None
            except _Invalid:
                pass
        raise TicketError(problems, ticket_id)

    too_many = len(names) + MAX_EXTRA_FIELDS

    def validate_slow(ticket: object) -> NormalisedTicket:
        if not isinstance(ticket, Mapping):
            fail(ticket, [Problem(f"a ticket must be a JSON object, got {json_type(ticket)}")])
        if len(ticket) > too_many:  # refuse before looking at each one (each unknown one gets a suggestion)
            fail(ticket, [Problem(f"a ticket has {len(ticket):,} fields; the policy declares {len(names)}",
                                  field=None)])
        out = {}
        problems = None
        for key, value in ticket.items():
            check = checks.get(key) if type(key) is str else None
            if check is None:
                hint = did_you_mean(key, names)
                problem = Problem(f"unknown field {str(key)!r}{_mean_suffix(hint)}", (key,),
                                  suggestion=hint, field=str(key), on_key=True)
            else:
                try:
                    out[key] = check(value)
                    continue
                except _Invalid as bad:
                    problem = Problem(bad.message, (key,), suggestion=bad.suggestion, field=key)
            if problems is None:
                problems = []
            problems.append(problem)
        for name in required:
            if name not in ticket:
                if problems is None:
                    problems = []
                problems.append(Problem(f"missing required field {name!r}", (name,), field=name))
        if problems:
            fail(ticket, problems)
        return out

    return _fast_validator(facts, checks, validate_slow)


_FAIL = object()  # a fast-path check did not pass: hand the ticket to the complete validator


def _fast_validator(facts: Mapping[str, Fact], checks: dict,
                    slow: Callable[[object], NormalisedTicket]) -> Callable[[object], NormalisedTicket]:
    """``validate`` with a fast path for the common ticket: a plain ``dict`` with ``str`` keys, only
    declared facts, and values that need no conversion or an exact-type one.

    The fast path is straight-line code generated once per fact set (a loop calling one closure per
    field was the largest single cost of evaluating a ticket).  It never reports anything: any
    value it does not accept as is sends the whole ticket to ``slow``, the complete validator
    above, so problems, their order and wording, and exceptions stay exactly as ``slow`` makes them.
    Its result is ``slow``'s: accepted str/enum/int/float/bool values are returned by the checks
    unchanged, so the normalised ticket is a copy of the ticket (same key order) with only the
    converted values (datetimes, int -> float numbers, overrides) replaced.
    """
    if not all(type(name) is str for name in facts):
        return slow  # names are written into the generated source
    env: dict[str, Any] = {"_slow": slow, "_M": _FAIL, "_FAIL": _FAIL, "_str": str, "_int": int,
                           "_float": float, "_dict": dict, "_isfinite": math.isfinite,
                           "_parse": parse_rfc3339, "_STR": frozenset((str,)), "_type": type}
    lines = ["def validate(ticket):",
             "    if _type(ticket) is not _dict or len(ticket) > %d or not _STR.issuperset(map(_type, ticket)):"
             % len(facts),
             "        return _slow(ticket)  # keys that are not plain str may only compare equal to a fact name",
             "    get = ticket.get",
             "    n = 0"]
    replaced = []
    for k, (name, fact) in enumerate(facts.items()):
        v = f"v{k}"
        lines.append(f"    {v} = get({name!r}, _M)")
        if fact.required:
            lines += [f"    if {v} is _M:", "        return _slow(ticket)"]
            indent = "    "
        else:
            lines.append(f"    if {v} is not _M:")
            indent = "        "
        test = None  # a condition under which the value is not accepted as is
        if fact.type == "string":
            limit = fact.max_length or DEFAULT_MAX_LENGTH
            test = f"_type({v}) is not _str or len({v}) > {limit}"
            if fact.pattern is not None:
                env[f"_search{k}"] = re.compile(fact.pattern).search
                test += f" or _search{k}({v}) is None"
        elif fact.type == "enum":
            env[f"_allowed{k}"] = frozenset(fact.values)
            test = f"_type({v}) is not _str or {v} not in _allowed{k}"
        elif fact.type == "boolean":
            test = f"{v} is not True and {v} is not False"
        elif fact.type in ("integer", "number"):
            bounds = ""
            if fact.minimum is not None:
                env[f"_low{k}"] = fact.minimum
                bounds += f" or {v} < _low{k}"
            if fact.maximum is not None:
                env[f"_high{k}"] = fact.maximum
                bounds += f" or {v} > _high{k}"
            if fact.type == "integer":
                test = f"_type({v}) is not _int" + bounds
            else:  # a float as is; an int becomes a float (the range compares the float, as the check does)
                lines += [f"{indent}if _type({v}) is _int and -9007199254740992 <= {v} <= 9007199254740992:",
                          f"{indent}    {v} = _float({v})",
                          f"{indent}elif _type({v}) is not _float:",
                          f"{indent}    return _slow(ticket)",
                          f"{indent}if not _isfinite({v}){bounds}:",
                          f"{indent}    return _slow(ticket)",
                          f"{indent}r{k} = {v}",
                          f"{indent}n += 1"]
                replaced.append((name, k, not fact.required))
                continue
        if test is not None:
            lines += [f"{indent}if {test}:", f"{indent}    return _slow(ticket)"]
        else:  # datetime, override: the check itself (its result replaces the value)
            if fact.type == "datetime":
                lines += [f"{indent}if _type({v}) is not _str:", f"{indent}    return _slow(ticket)"]
                call = f"_parse({v})"
            else:
                env[f"_check{k}"] = checks[name]
                call = f"_check{k}({v})"
            # the slow path is called outside the except block, so its TicketError has no __context__
            lines += [f"{indent}try:", f"{indent}    r{k} = {call}", f"{indent}except Exception:",
                      f"{indent}    r{k} = _FAIL", f"{indent}if r{k} is _FAIL:", f"{indent}    return _slow(ticket)"]
            replaced.append((name, k, not fact.required))
        lines.append(f"{indent}n += 1")
    lines += ["    if n != len(ticket):",
              "        return _slow(ticket)  # unknown fields",
              "    out = ticket.copy()"]
    for name, k, optional in replaced:
        if optional:
            lines += [f"    if v{k} is not _M:", f"        out[{name!r}] = r{k}"]
        else:
            lines.append(f"    out[{name!r}] = r{k}")
    lines.append("    return out")
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<ticket validator>", "exec"), env)
    validate = env["validate"]
    validate.source = source  # for debugging
    validate.slow = slow  # the complete validator (tests check the two agree)
    return validate


def validate_ticket(ticket: object, facts: Mapping[str, Fact]) -> NormalisedTicket:
    """Validate and normalise one ticket; ``TicketError`` naming every bad field.

    With a :class:`FactSet` (from :func:`parse_facts`) the compiled validator is
    cached on it; with any other mapping it is compiled on every call.
    """
    if isinstance(facts, FactSet):
        return facts.validator()(ticket)
    return compile_ticket_validator(facts)(ticket)
