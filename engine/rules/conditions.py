"""The condition language of a rule's ``when``: parsing, type checking and semantics.

Grammar::

    cond := {all: [cond, ...]} | {any: [cond, ...]} | {not: cond}
          | {fact: scalar}                  # equality shorthand
          | {fact: {op: value, ...}}        # several ops in one mapping: all of them
          | {fact1: ..., fact2: ...}        # several facts in one mapping: all of them
          | {condition: name}               # a named condition of the policy (spec.conditions)

Semantics (Kleene three-valued logic; a rule matches iff its condition is TRUE):

* a test of a fact the ticket does not have is UNKNOWN, except ``exists``,
  which is always TRUE or FALSE (``exists: true`` iff the fact is present);
* ``all`` is FALSE if any part is FALSE, else UNKNOWN if any is UNKNOWN, else
  TRUE; ``any`` is the dual; ``not`` swaps TRUE and FALSE and keeps UNKNOWN.
  So a missing fact never satisfies a condition that needs it, even under ``not``.
* ``matches`` is a search (unanchored, like Python's ``re.search`` and JSON Schema
  ``pattern``) with RE2, which runs in time linear in the ticket's text: anchor with
  ``^...$`` for a full match.  A pattern RE2 does not support (backreferences,
  lookaround) is a load-time Problem; see :mod:`engine.core.regex` for where RE2's
  semantics differ from Python's (``\\d``, ``\\w`` are ASCII; ``$`` is the very end).
* numbers compare by value (``10 == 10.0``); datetimes compare as instants
  (offsets are irrelevant); strings and enums compare exactly (case-sensitive).

The AST (:class:`Leaf`, :class:`AllOf`, :class:`AnyOf`, :class:`Not`) is immutable
and hashable.  Problem paths are relative to ``when``, e.g.
``("all", 1, "users_affected", "gte")``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Union

from ..core.errors import Problem
from ..core.regex import pattern_problem, searcher
from ..core.suggest import did_you_mean
from ..facts.values import describe, json_type, parse_rfc3339
from ..facts.vocabulary import Fact

OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists", "matches")
COMBINATORS = ("all", "any", "not")
REFERENCE = "condition"  # {condition: name} uses a named condition; no fact may be called this
MAX_DEPTH = 32
MAX_IN_VALUES = 200

_COMPARE = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists")
OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "string": ("eq", "ne", "in", "not_in", "matches", "exists"),
    "enum": ("eq", "ne", "in", "not_in", "exists"),
    "boolean": ("eq", "ne", "exists"),
    "integer": _COMPARE,
    "number": _COMPARE,
    "datetime": ("gt", "gte", "lt", "lte", "exists"),
    "override": ("exists",),
}
ORDERED_TYPES = ("integer", "number", "datetime")  # facts compared against thresholds


@dataclass(frozen=True, slots=True)
class Leaf:
    """One test of one fact.  ``value``: a tuple for in/not_in, a bool for exists,
    the pattern for matches, an aware datetime for datetime facts."""

    fact: str
    type: str
    op: str
    value: object


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple


@dataclass(frozen=True, slots=True)
class Not:
    item: object


Condition = Union[Leaf, AllOf, AnyOf, Not]


# --------------------------------------------------------------------------- parsing


def parse_condition(when: object, facts: Mapping[str, Fact],
                    named: Mapping[str, Condition] | None = None) -> tuple[Condition | None, list[Problem]]:
    """Parse and type-check ``when``; returns ``(condition or None, problems)``.

    ``named`` holds the policy's named conditions, already parsed: ``{condition: name}``
    stands for that condition (it is inlined, so it compiles and evaluates as if written out)."""
    problems: list[Problem] = []
    cond = _parse(when, facts, (), 1, problems, named or {})
    if any(p.is_error for p in problems):
        return None, problems
    return cond, problems


def _parse(node, facts, path, depth, problems, named) -> Condition | None:
    if depth > MAX_DEPTH:
        problems.append(Problem(f"condition is nested deeper than {MAX_DEPTH} levels", path))
        return None
    if not isinstance(node, Mapping):
        problems.append(Problem(f"a condition must be a mapping, got {json_type(node)}", path))
        return None
    if not node:
        problems.append(Problem("empty condition: use all, any, not or a fact test", path))
        return None
    combinators = [k for k in node if k in COMBINATORS]
    if combinators:
        if len(node) > len(combinators):
            others = ", ".join(str(k) for k in node if k not in COMBINATORS)
            problems.append(Problem(
                f"a condition mapping holds either one of all/any/not or fact tests, not both "
                f"(found {combinators[0]} and {others}); wrap them in all: [...]", path))
            return None
        if len(combinators) > 1:
            problems.append(Problem(
                f"use exactly one of all/any/not per mapping (found {', '.join(combinators)}); "
                "wrap them in all: [...]", path))
            return None
        key = combinators[0]
        if key == "not":
            inner = _parse(node["not"], facts, path + ("not",), depth + 1, problems, named)
            return None if inner is None else Not(inner)
        items = node[key]
        if not isinstance(items, list) or not items:
            got = "an empty list" if isinstance(items, list) else json_type(items)
            problems.append(Problem(f"{key!r} takes a non-empty list of conditions, got {got}", path + (key,)))
            return None
        parsed = [_parse(item, facts, path + (key, i), depth + 1, problems, named) for i, item in enumerate(items)]
        if any(p is None for p in parsed):
            return None
        return (AllOf if key == "all" else AnyOf)(tuple(parsed))
    leaves: list[Leaf] = []
    ok = True
    for name, spec in node.items():
        if name == REFERENCE:
            got = _reference(spec, named, path + (name,), problems)
        else:
            got = _parse_fact(name, spec, facts, path + (name,), problems)
        if got is None:
            ok = False
        else:
            leaves.extend(got)
    if not ok:
        return None
    return leaves[0] if len(leaves) == 1 else AllOf(tuple(leaves))


def _reference(name, named, path, problems) -> list[Condition] | None:
    if isinstance(name, str) and name in named:
        return [named[name]]
    if not named:
        problems.append(Problem(f"unknown condition {describe(name)}: this policy defines no named conditions "
                                "(spec.conditions)", path))
        return None
    hint = did_you_mean(name, list(named)) if isinstance(name, str) else None
    problems.append(Problem(f"unknown condition {describe(name)}", path, suggestion=hint))
    return None


def parse_named_conditions(spec: object, facts: Mapping[str, Fact]) -> tuple[dict[str, Condition], list[Problem]]:
    """The policy's named conditions (``spec.conditions``: name -> {description, when}), parsed in order:
    one may use those defined before it.  Paths are relative to ``conditions``."""
    named: dict[str, Condition] = {}
    problems: list[Problem] = []
    if spec is None:
        return named, problems
    if not isinstance(spec, Mapping):
        return named, [Problem(f"conditions must map a name to {{description, when}}, got {json_type(spec)}")]
    for name, entry in spec.items():
        if isinstance(name, str) and name in facts:
            problems.append(Problem(f"condition {name!r} has the name of a fact; choose another", (name,),
                                    on_key=True))
            continue
        if not isinstance(entry, Mapping) or "when" not in entry:
            problems.append(Problem(f"condition {describe(name)} needs a 'when'", (name,)))
            continue
        cond, found = parse_condition(entry["when"], facts, named)
        problems.extend(p.prefixed(name, "when") for p in found)
        if cond is not None:
            named[name] = cond
    return named, problems


def _parse_fact(name, spec, facts, path, problems) -> list[Leaf] | None:
    fact = facts.get(name) if isinstance(name, str) else None
    if fact is None:
        problems.append(Problem(f"unknown fact {str(name)!r}", path, suggestion=did_you_mean(name, facts)))
        return None
    if isinstance(spec, Mapping):
        if not spec:
            problems.append(Problem(f"no operator given for {name!r}; use one of {', '.join(OPS_BY_TYPE[fact.type])}",
                                    path))
            return None
        leaves = []
        for op, value in spec.items():
            leaf = _parse_op(fact, op, value, path + (op,), problems)
            if leaf is not None:
                leaves.append(leaf)
        return leaves if len(leaves) == len(spec) else None
    if isinstance(spec, (list, tuple)):
        problems.append(Problem(f"a list is not a value of {name!r}; use {{in: [...]}}", path))
        return None
    if spec is None:
        problems.append(Problem(f"null is not a value of {name!r}; test a missing fact with {{exists: false}}", path))
        return None
    leaf = _parse_op(fact, "eq", spec, path, problems)
    return None if leaf is None else [leaf]


def _parse_op(fact: Fact, op, value, path, problems) -> Leaf | None:
    valid = OPS_BY_TYPE[fact.type]
    if op not in OPS:
        problems.append(Problem(f"unknown operator {str(op)!r}", path, suggestion=did_you_mean(op, OPS)))
        return None
    if op not in valid:
        problems.append(Problem(
            f"operator {op!r} is not valid for {fact.type} fact {fact.name!r} (valid: {', '.join(valid)})", path))
        return None
    if op == "exists":
        if not isinstance(value, bool):
            problems.append(Problem(f"'exists' takes true or false, got {describe(value)}", path))
            return None
        return Leaf(fact.name, fact.type, op, value)
    if op == "matches":
        if not isinstance(value, str):
            problems.append(Problem(f"'matches' needs a regular expression string, got {describe(value)}", path))
            return None
        problem = pattern_problem(value)
        if problem is not None:
            problems.append(Problem(problem, path))
            return None
        return Leaf(fact.name, fact.type, op, value)
    if op in ("in", "not_in"):
        if not isinstance(value, (list, tuple)) or not value:
            got = "an empty list" if isinstance(value, (list, tuple)) else describe(value)
            problems.append(Problem(f"{op!r} needs a non-empty list of values, got {got}", path))
            return None
        if len(value) > MAX_IN_VALUES:
            problems.append(Problem(f"{op!r} takes at most {MAX_IN_VALUES} values, got {len(value)}", path))
            return None
        before = len(problems)
        items = [_check_value(fact, op, item, path + (i,), problems) for i, item in enumerate(value)]
        if len(problems) > before:
            return None
        unique = tuple(dict.fromkeys(items))  # keep order, drop duplicates
        return Leaf(fact.name, fact.type, op, unique)
    before = len(problems)
    checked = _check_value(fact, op, value, path, problems)
    if len(problems) > before:
        return None
    return Leaf(fact.name, fact.type, op, checked)


def _check_value(fact: Fact, op: str, value, path, problems):
    """Check one comparison value against the fact's type; returns the normalised value."""
    ftype = fact.type
    where = f"{op!r} on {ftype} fact {fact.name!r}"
    if ftype == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        problems.append(Problem(f"{where} needs an integer, got {describe(value)}", path))
    elif ftype == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value):
                return value
            problems.append(Problem(f"{where} needs a finite number, got {value!r}", path))
        else:
            problems.append(Problem(f"{where} needs a number, got {describe(value)}", path))
    elif ftype == "boolean":
        if isinstance(value, bool):
            return value
        problems.append(Problem(f"{where} needs true or false, got {describe(value)}", path))
    elif ftype == "string":
        if isinstance(value, str):
            return str(value)
        problems.append(Problem(f"{where} needs a string, got {describe(value)}", path))
    elif ftype == "enum":
        if isinstance(value, str) and value in fact.values:
            return str(value)
        if isinstance(value, str):
            problems.append(Problem(f"{value!r} is not a value of enum fact {fact.name!r} ({', '.join(fact.values)})",
                                    path, suggestion=did_you_mean(value, fact.values)))
        else:
            problems.append(Problem(f"{where} needs one of {', '.join(fact.values)}, got {describe(value)}", path))
    elif ftype == "datetime":
        if isinstance(value, datetime):
            if value.utcoffset() is not None:
                return value
            problems.append(Problem(f"{where} needs a datetime with a UTC offset, got {value.isoformat()}", path))
        elif isinstance(value, str):
            try:
                return parse_rfc3339(value)
            except ValueError as exc:
                problems.append(Problem(f"{where}: {exc}", path))
        else:
            problems.append(Problem(f"{where} needs an RFC 3339 datetime with offset, got {describe(value)}", path))
    return None


# --------------------------------------------------------------------------- semantics

_ORDER_OPS = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def evaluate(cond: Condition, ticket: Mapping) -> bool | None:
    """Kleene value of ``cond`` on a normalised ticket: True, False or None (UNKNOWN)."""
    if isinstance(cond, Leaf):
        return _leaf_value(cond, ticket)
    if isinstance(cond, Not):
        inner = evaluate(cond.item, ticket)
        return None if inner is None else not inner
    dominant = isinstance(cond, AnyOf)  # the value that decides: TRUE for any, FALSE for all
    unknown = False
    for item in cond.items:
        value = evaluate(item, ticket)
        if value is dominant:
            return dominant
        if value is None:
            unknown = True
    return None if unknown else not dominant


def _leaf_value(leaf: Leaf, ticket: Mapping) -> bool | None:
    present = leaf.fact in ticket
    if leaf.op == "exists":
        return present == leaf.value
    if not present:
        return None
    value = ticket[leaf.fact]
    op = leaf.op
    if op == "eq":
        return value == leaf.value
    if op == "ne":
        return value != leaf.value
    if op == "in":
        return value in leaf.value
    if op == "not_in":
        return value not in leaf.value
    if op == "matches":
        return _searcher(leaf.value)(value)
    return _ORDER_OPS[op](value, leaf.value)


_searcher = lru_cache(maxsize=256)(searcher)  # patterns come from policies, not tickets


# --------------------------------------------------------------------------- what a condition reads


@dataclass(frozen=True)
class Reads:
    """What a condition reads from a ticket (used for memoisation and compilation).

    ``thresholds``: per integer/number/datetime fact, the sorted distinct values it
    is compared with; ``literals``: per string/enum/boolean fact, the values it is
    compared with (sorted); ``patterns``: per string fact, its regexes (sorted);
    ``exists``: facts tested with ``exists``.
    """

    facts: frozenset[str]
    thresholds: Mapping[str, tuple]
    literals: Mapping[str, tuple]
    patterns: Mapping[str, tuple]
    exists: frozenset[str]


def leaves(cond: Condition):
    """Every leaf of ``cond``, depth first."""
    if isinstance(cond, Leaf):
        yield cond
    elif isinstance(cond, Not):
        yield from leaves(cond.item)
    else:
        for item in cond.items:
            yield from leaves(item)


def reads(*conds: Condition) -> Reads:
    """The facts, thresholds, literals and patterns read by one or more conditions."""
    facts: set[str] = set()
    thresholds: dict[str, set] = {}
    literals: dict[str, set] = {}
    patterns: dict[str, set] = {}
    exists: set[str] = set()
    for cond in conds:
        for leaf in leaves(cond):
            facts.add(leaf.fact)
            if leaf.op == "exists":
                exists.add(leaf.fact)
            elif leaf.op == "matches":
                patterns.setdefault(leaf.fact, set()).add(leaf.value)
            else:
                values = leaf.value if leaf.op in ("in", "not_in") else (leaf.value,)
                target = thresholds if leaf.type in ORDERED_TYPES else literals
                target.setdefault(leaf.fact, set()).update(values)
    return Reads(
        facts=frozenset(facts),
        thresholds={k: tuple(sorted(v)) for k, v in thresholds.items()},
        literals={k: tuple(sorted(v)) for k, v in literals.items()},
        patterns={k: tuple(sorted(v)) for k, v in patterns.items()},
        exists=frozenset(exists),
    )
