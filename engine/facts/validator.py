"""Validating and normalising tickets against a FactSet.

A *normalised ticket* is a plain ``dict`` holding only declared facts, with
Python values: ``str`` for string/enum, ``int`` for integer, ``float`` for
number, ``bool`` for boolean, an aware ``datetime`` for datetime and a new
``{"priority": ..., "reason": ...}`` dict for override.  Treat it as read-only.

* Integer facts accept JSON numbers with a zero fraction (``3.0``), as JSON
  Schema does, and store them as ``int``.  ``bool`` is never a number.
* Datetimes follow :func:`engine.facts.values.parse_rfc3339`.  A YAML loader may
  already have produced an aware ``datetime``; that is accepted too.  Naive
  values are errors.
* A string's ``pattern`` is an RE2 regex applied as a search, like JSON Schema's
  ``pattern``, in linear time (ticket text comes from strangers: :mod:`engine.core.regex`).

:func:`compile_ticket_validator` builds the per-fact checks once (the complete
validator, which reports every problem) and a generated fast path for the
common ticket in front of it.  :func:`fast_path_code` gives that fast path as
source, with extra lines per fact, so that :mod:`engine.rules.fastpath` can
compute the rules' signature in the same pass.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from ..core.errors import Problem, TicketError
from ..core.regex import searcher
from ..core.suggest import did_you_mean
from .values import describe, is_integer, json_type, parse_rfc3339
from .vocabulary import (DEFAULT_MAX_LENGTH, MAX_EXTRA_FIELDS, MAX_REASON_LENGTH, PRIORITIES, Fact, FactSet,
                         NormalisedTicket)


class _Invalid(Exception):
    """Raised by a field check; carries the message and an optional suggestion (a close valid
    value, rendered by the Problem made from it)."""

    def __init__(self, message: str, suggestion: str | None = None):
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


def _string_check(fact: Fact) -> Callable[[object], object]:
    limit = fact.max_length or DEFAULT_MAX_LENGTH
    search = searcher(fact.pattern) if fact.pattern is not None else None
    pattern = fact.pattern

    def check(value):
        if type(value) is not str:
            if not isinstance(value, str):
                raise _Invalid(f"expected a string, got {describe(value)}")
            value = str(value)
        if len(value) > limit:
            raise _Invalid(f"string is longer than {limit} characters ({len(value)})")
        if search is not None and not search(value):
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
            elif is_integer(value):
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
            if kind is int or is_integer(value):
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
        raise _Invalid(f"{value!r} is not one of {listing}", did_you_mean(value, fact.values))

    return check


def _override_check(fact: Fact) -> Callable[[object], object]:
    def check(value):
        if not isinstance(value, Mapping):
            raise _Invalid(f"expected an object {{priority, reason}}, got {describe(value)}")
        extra = [k for k in value if k not in ("priority", "reason")]
        if extra:
            raise _Invalid(f"unknown key {str(extra[0])!r} in override", did_you_mean(extra[0], ("priority", "reason")))
        priority, reason = value.get("priority"), value.get("reason")
        if priority not in PRIORITIES or not isinstance(priority, str):
            if "priority" not in value:
                raise _Invalid("override needs 'priority' (one of P1, P2, P3, P4)")
            hint = did_you_mean(str(priority).upper(), PRIORITIES) if isinstance(priority, str) else None
            raise _Invalid(f"override priority must be one of P1, P2, P3, P4, got {describe(priority)}", hint)
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
                problem = Problem(f"unknown field {str(key)!r}", (key,), suggestion=did_you_mean(key, names),
                                  field=str(key), on_key=True)
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


@dataclass(frozen=True)
class FactCoding:
    """Lines another module adds to the generated fast path for one fact (see :func:`fast_path_code`):
    ``present`` runs once the value is accepted, with ``{value}`` standing for the local that holds
    its normalised value; ``absent`` runs when the ticket leaves the fact out.  For an enum fact,
    ``enum_codes`` (every allowed value -> a constant) replaces the membership test: the constant
    is stored in the local ``enum_target``, and a value it lacks is not accepted.  ``env``: the
    globals those lines use."""

    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    env: Mapping[str, Any] = field(default_factory=dict)
    enum_codes: Mapping[str, Any] | None = None
    enum_target: str = ""


def fast_path_code(facts: Mapping[str, Fact], checks: dict, fail: str, ascii_only: bool = False,
                   coding: Mapping[str, FactCoding] | None = None,
                   years: Mapping[str, tuple[int, int]] | None = None) -> tuple[dict, list[str]] | None:
    """The body of the fast path of :func:`_fast_validator` (lines indented once, reading ``ticket``,
    leaving the normalised ticket in the local ``out``) and the globals it needs; None when the fact
    names cannot be written into source.  ``fail`` is the statement run for a ticket the fast path
    does not take.  ``ascii_only``: free text (strings, an override's reason) that is not ASCII is
    not taken either.  ``coding``: extra lines per fact (:class:`FactCoding`).  ``years``: datetime
    facts whose year must lie within the given bounds (inclusive) for the fast path to take them."""
    if not all(type(name) is str for name in facts):
        return None  # names are written into the generated source
    coding = coding or {}
    years = years or {}
    env: dict[str, Any] = {"_FAIL": _FAIL, "_str": str, "_int": int,
                           "_float": float, "_dict": dict, "_isfinite": math.isfinite,
                           "_parse": parse_rfc3339, "_STR": frozenset((str,)), "_type": type}
    for extra in coding.values():
        env.update(extra.env)
    lines = ["    if _type(ticket) is not _dict or len(ticket) > %d or not _STR.issuperset(map(_type, ticket)):"
             % len(facts),
             f"        {fail}  # keys that are not plain str may only compare equal to a fact name",
             "    get = ticket.get",
             "    n = 0"]
    replaced = []
    for k, (name, fact) in enumerate(facts.items()):
        v = f"v{k}"
        extra = coding.get(name)
        # a fact given as null counts as absent here: it is not counted in n, so n != len(ticket) below
        lines.append(f"    {v} = get({name!r})")
        if fact.required:
            lines += [f"    if {v} is None:", f"        {fail}"]
            indent = "    "
        else:
            lines.append(f"    if {v} is not None:")
            indent = "        "
        test = None  # a condition under which the value is not accepted as is
        if fact.type == "string":
            limit = fact.max_length or DEFAULT_MAX_LENGTH
            test = f"_type({v}) is not _str or len({v}) > {limit}"
            if ascii_only:
                test += f" or not {v}.isascii()"
            if fact.pattern is not None:
                env[f"_search{k}"] = searcher(fact.pattern)
                test += f" or not _search{k}({v})"
        elif fact.type == "enum" and extra is not None and extra.enum_codes is not None:
            env[f"_enum{k}"] = dict(extra.enum_codes)
            lines += [f"{indent}if _type({v}) is not _str:", f"{indent}    {fail}",
                      f"{indent}{extra.enum_target} = _enum{k}.get({v})",
                      f"{indent}if {extra.enum_target} is None:", f"{indent}    {fail}"]
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
                          f"{indent}    {fail}",
                          f"{indent}if not _isfinite({v}){bounds}:",
                          f"{indent}    {fail}",
                          f"{indent}r{k} = {v}"]
                replaced.append((name, k, not fact.required))
        if fact.type in ("datetime", "override"):  # the check itself (its result replaces the value)
            if fact.type == "datetime":
                lines += [f"{indent}if _type({v}) is not _str:", f"{indent}    {fail}"]
                call = f"_parse({v})"
            else:
                env[f"_check{k}"] = checks[name]
                call = f"_check{k}({v})"
            # the slow path is called outside the except block, so its TicketError has no __context__
            lines += [f"{indent}try:", f"{indent}    r{k} = {call}", f"{indent}except Exception:",
                      f"{indent}    r{k} = _FAIL", f"{indent}if r{k} is _FAIL:", f"{indent}    {fail}"]
            if ascii_only and fact.type == "override":
                lines += [f"{indent}if not r{k}['reason'].isascii():", f"{indent}    {fail}"]
            if fact.type == "datetime" and name in years:
                first, last = years[name]
                lines += [f"{indent}if not {first} <= r{k}.year <= {last}:", f"{indent}    {fail}"]
            replaced.append((name, k, not fact.required))
        elif test is not None:
            lines += [f"{indent}if {test}:", f"{indent}    {fail}"]
        lines.append(f"{indent}n += 1")
        if extra is not None:
            value = f"r{k}" if replaced and replaced[-1][1] == k else v  # the normalised value
            lines += [f"{indent}{line.format(value=value)}" for line in extra.present]
            if extra.absent and not fact.required:
                lines += ["    else:", *(f"        {line}" for line in extra.absent)]
    lines += ["    if n != len(ticket):",
              f"        {fail}  # unknown fields",
              "    out = ticket.copy()"]
    for name, k, optional in replaced:
        if optional:
            lines += [f"    if v{k} is not None:", f"        out[{name!r}] = r{k}"]
        else:
            lines.append(f"    out[{name!r}] = r{k}")
    return env, lines


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

    (The evaluator uses :func:`fast_path_code` itself, fused with the rules' signature: see
    :mod:`engine.rules.fastpath`.)
    """
    code = fast_path_code(facts, checks, "return _slow(ticket)")
    if code is None:
        return slow
    env, body = code
    env["_slow"] = slow
    source = "\n".join(["def validate(ticket):", *body, "    return out"]) + "\n"
    exec(compile(source, "<ticket validator>", "exec"), env)
    validate = env.pop("validate")  # its globals are env: left there, it would be a reference cycle
    validate.source = source  # for debugging
    validate.slow = slow  # the complete validator (tests check the two agree)
    validate.checks = checks
    return validate


def ticket_validator(facts: Mapping[str, Fact]) -> Callable[[object], NormalisedTicket]:
    """The compiled validator of ``facts``: compiled once per :class:`FactSet` (kept in its
    ``compiled_validator``), or on every call for any other mapping."""
    if isinstance(facts, FactSet):
        found = facts.compiled_validator
        if found is None:
            found = facts.compiled_validator = compile_ticket_validator(facts)
        return found
    return compile_ticket_validator(facts)


def validate_ticket(ticket: object, facts: Mapping[str, Fact]) -> NormalisedTicket:
    """Validate and normalise one ticket; ``TicketError`` naming every bad field.

    With a :class:`FactSet` (from :func:`~engine.facts.vocabulary.parse_facts`) the compiled
    validator is cached on it; with any other mapping it is compiled on every call.
    """
    return ticket_validator(facts)(ticket)
