"""One generated pass over a ticket that validates it and computes its signature codes.

The evaluator's common ticket is validated by the generated fast path of
:mod:`engine.facts.validator`, and its signature (:func:`engine.rules.compiler.signature_function`)
is then computed from the normalised ticket, reading every fact from the dict a
second time.  :func:`fused_code` writes both as one body: each fact is read once,
and its code is computed from the local that holds its normalised value, right
after the value is accepted.  An enum fact's membership test and its code are one
dict lookup (allowed value -> code), a boolean's code is a constant per value, and
a threshold's code a chain of comparisons.  The codes are exactly the signature's:
same tables, same order, None for an absent fact.  :func:`engine.rules.memos.generate_lookup`
then appends the memo lookups, so one call gives the normalised ticket and its
matched rules and review.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping

from .compiler import CompiledRules
from ..core.regex import searcher
from ..facts.validator import FactCoding, fast_path_code, ticket_validator
from ..facts.vocabulary import Fact

_CHAIN_LIMIT = 8  # thresholds compared inline; a longer table is bisected


def _constant(value, env: dict, name: str) -> str:
    """``value`` as source: a literal for ints and finite floats, else a global of ``env``."""
    if type(value) is int or (type(value) is float and value == value and abs(value) != float("inf")):
        return repr(value)
    env[name] = value
    return name


def _rank_line(target: str, table: tuple, env: dict, k: int) -> str:
    """``target = code`` of ``{value}`` against sorted ``table``: ``2j+1`` when it equals ``t_j``,
    else ``2j`` with ``j`` the number of thresholds below it (values are totally ordered: finite
    numbers, aware datetimes)."""
    if len(table) > _CHAIN_LIMIT:
        env["_bisect_left"] = bisect_left
        env[f"_rank{k}"] = table
        return (f"j = _bisect_left(_rank{k}, {{value}}); "
                f"{target} = 2 * j + 1 if j < {len(table)} and _rank{k}[j] == {{value}} else 2 * j")
    expression = str(2 * len(table))
    for j in reversed(range(len(table))):
        t = _constant(table[j], env, f"_rank{k}_{j}")
        expression = f"({2 * j + 1} if {{value}} == {t} else {2 * j}) if {{value}} <= {t} else {expression}"
    return f"{target} = {expression}"


def signature_codings(compiled: CompiledRules,
                      facts: Mapping[str, Fact]) -> tuple[dict[str, FactCoding], list[str]] | None:
    """Per fact, the lines that compute its signature codes inside the validator's fast path, and
    the names of the locals holding the codes, in signature order; None when a slot is of a kind
    this does not write (the caller then keeps validation and signature apart)."""
    present: dict[str, list[str]] = {}
    absent: dict[str, list[str]] = {}
    env: dict = {}
    enums: dict[str, tuple[dict, str]] = {}
    codes = []
    for k, slot in enumerate(compiled.slots):
        fact = facts.get(slot.fact)
        if fact is None or fact.type != slot.type:
            return None
        c = f"c{k}"
        codes.append(c)
        absent.setdefault(slot.fact, []).append(f"{c} = None")
        if slot.mode == "rank" and fact.type in ("integer", "number", "datetime"):
            present.setdefault(slot.fact, []).append(_rank_line(c, slot.table, env, k))
        elif slot.mode == "code" and fact.type == "enum":
            if slot.fact in enums:
                return None
            literal = {value: j for j, value in enumerate(slot.table)}
            enums[slot.fact] = ({value: literal.get(value, len(slot.table)) for value in fact.values}, c)
        elif slot.mode == "code" and fact.type == "boolean":
            literal = {value: j for j, value in enumerate(slot.table)}
            yes, no = literal.get(True, len(slot.table)), literal.get(False, len(slot.table))
            present.setdefault(slot.fact, []).append(f"{c} = {yes} if {{value}} is True else {no}")
        elif slot.mode == "code" and fact.type == "string":
            env[f"_literal{k}"] = {value: j for j, value in enumerate(slot.table)}
            present.setdefault(slot.fact, []).append(f"{c} = _literal{k}.get({{value}}, {len(slot.table)})")
        elif slot.mode == "presence":
            present.setdefault(slot.fact, []).append(f"{c} = 0")
        else:
            return None
    for n, (k, pattern) in enumerate(compiled.patterns):
        fact = compiled.slots[k].fact
        env[f"_match{n}"] = searcher(pattern)
        present.setdefault(fact, []).append(f"m{n} = 1 if _match{n}({{value}}) else 0")
        absent.setdefault(fact, []).append(f"m{n} = None")
        codes.append(f"m{n}")
    codings = {}
    for name in {*present, *absent}:
        enum_codes, target = enums.get(name, (None, ""))
        codings[name] = FactCoding(tuple(present.get(name, ())), tuple(absent.get(name, ())), env,
                                   enum_codes, target)
    return codings, codes


def fused_code(compiled: CompiledRules, facts: Mapping[str, Fact],
               years: Mapping[str, tuple[int, int]]) -> tuple[dict, list[str], list[str]] | None:
    """``(globals, body, code names)`` for :func:`engine.rules.memos.generate_lookup`: the validator's
    ASCII fast path (free text only when ASCII; the datetimes of ``years`` only within their
    years), which returns None for a ticket it does not take and leaves the normalised ticket in
    ``out`` and the signature codes in the locals named; None when the two cannot be fused."""
    codings = signature_codings(compiled, facts)
    if codings is None:
        return None
    by_fact, codes = codings
    checks = getattr(ticket_validator(facts), "checks", None)
    if checks is None:
        return None
    code = fast_path_code(facts, checks, "return None", ascii_only=True, coding=by_fact, years=years)
    if code is None:
        return None
    env, body = code
    return env, body, codes
