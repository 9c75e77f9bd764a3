"""The ticket vocabulary: a TriagePolicy's ``spec.facts``, checked and parsed.

Conventions
-----------
* A fact declaration is a mapping with ``type`` (one of :data:`FACT_TYPES`),
  ``description``, ``required`` (default false), ``values`` (enum only),
  ``minimum``/``maximum`` (integer/number), ``max_length`` (string, default
  1000) and ``pattern`` (string; an RE2 regex applied as a search, like JSON
  Schema's ``pattern``, in linear time: see :mod:`engine.core.regex`).
* Check paths are relative to the facts mapping, e.g. ``("users_affected", "minimum")``.
* Tickets are validated against the parsed facts by :mod:`engine.facts.validator`
  (which says what a normalised ticket holds); their JSON Schema comes from
  :mod:`engine.facts.schema`.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Callable

from ..core.errors import PolicyError, Problem
from ..core.regex import pattern_problem
from ..core.suggest import did_you_mean
from .values import describe, is_finite_number, is_integer, json_type

FACT_TYPES = ("string", "integer", "number", "boolean", "datetime", "enum", "override")
PRIORITIES = ("P1", "P2", "P3", "P4")
DECLARATION_KEYS = ("type", "description", "required", "values", "minimum", "maximum", "max_length", "pattern")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_NAMES = ("all", "any", "not", "condition")  # the condition language's combinators and references
MAX_FACTS = 100  # durable-rules fails on facts with more than 255 properties
DEFAULT_MAX_LENGTH = 1000
MAX_REASON_LENGTH = 1000
MAX_EXTRA_FIELDS = 20  # unknown fields a ticket may carry and still get one problem each

NormalisedTicket = dict  # fact name -> Python value; only declared facts (see engine.facts.validator)


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
    """``dict[str, Fact]`` as returned by :func:`parse_facts`; treat it as read-only.

    ``compiled_validator`` is its ticket validator once :func:`engine.facts.validator.ticket_validator`
    has compiled it (once per FactSet)."""

    compiled_validator: Callable[[object], NormalisedTicket] | None = None


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
        yield Problem(f"the {name!r} fact must be declared ({what})",
                      suggestion=f"{name}: {{type: {ftype}, required: true}}", show_suggestion=False)
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
            yield Problem(f"unknown key {str(key)!r}", (name, key), suggestion=did_you_mean(key, DECLARATION_KEYS))
    ftype = decl.get("type")
    if "type" not in decl:
        yield Problem("missing 'type'", (name,), suggestion=f"one of {', '.join(FACT_TYPES)}", show_suggestion=False)
    elif ftype not in FACT_TYPES:
        yield Problem(f"unknown type {str(ftype)!r}; expected one of {', '.join(FACT_TYPES)}", (name, "type"),
                      suggestion=did_you_mean(ftype, FACT_TYPES))
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
        elif ftype == "integer" and not is_integer(value):
            yield Problem(f"{key!r} must be an integer, got {describe(value)}", (name, key))
        elif not is_finite_number(value):
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
        elif not is_integer(value) or value < 1:
            yield Problem(f"'max_length' must be a positive integer, got {describe(value)}", (name, "max_length"))
    if "pattern" in decl:
        value = decl["pattern"]
        if ftype != "string":
            yield Problem("'pattern' is only allowed on string facts", (name, "pattern"))
        elif not isinstance(value, str):
            yield Problem(f"'pattern' must be a string, got {describe(value)}", (name, "pattern"))
        else:
            problem = pattern_problem(value)
            if problem is not None:
                yield Problem(problem, (name, "pattern"))


def read_facts(spec_facts: object) -> tuple[FactSet | None, list[Problem]]:
    """Every problem of ``spec.facts`` (paths relative to it), and its :class:`FactSet` when none
    of them is an error (else None): checked and parsed in one pass."""
    problems = list(check_facts(spec_facts))
    if any(p.is_error for p in problems):
        return None, problems
    return _fact_set(spec_facts), problems


def parse_facts(spec_facts: Mapping) -> FactSet:
    """Build a :class:`FactSet` from ``spec.facts``; ``PolicyError`` with every problem if invalid."""
    facts, problems = read_facts(spec_facts)
    if facts is None:
        raise PolicyError([p for p in problems if p.is_error])
    return facts


def _fact_set(spec_facts: Mapping) -> FactSet:
    """The FactSet of a ``spec.facts`` that :func:`check_facts` found no error in."""
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
