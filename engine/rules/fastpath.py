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

import math
from bisect import bisect_left
from collections.abc import Mapping

from .compiler import CompiledRules
from .memos import class_maps
from ..core.regex import searcher
from ..facts.validator import FactCoding, fast_path_code, ticket_validator
from ..facts.vocabulary import Fact

_CHAIN_LIMIT = 8  # thresholds compared inline; a longer table is bisected


def _constant(value, env: dict, name: str) -> str:
    """``value`` as source: a literal for ints, finite floats, None and tuples of them, else a
    global of ``env``."""
    if value is None or type(value) is int or (type(value) is float and math.isfinite(value)) or \
            (type(value) is tuple and all(v is None or type(v) is int for v in value)):
        return repr(value)
    env[name] = value
    return name


def _rank_expression(table: tuple, result, env: dict, k: int) -> str:
    """The code of ``{value}`` against sorted ``table`` (``2j+1`` when it equals ``t_j``, else ``2j``
    with ``j`` the number of thresholds below it; values are totally ordered: finite numbers,
    aware datetimes) as a chain of comparisons, each code written as ``result(code)``."""
    expression = result(2 * len(table))
    for j in reversed(range(len(table))):
        t = _constant(table[j], env, f"_rank{k}_{j}")
        expression = (f"({result(2 * j + 1)} if {{value}} == {t} else {result(2 * j)}) "
                      f"if {{value}} <= {t} else {expression}")
    return expression


def signature_codings(compiled: CompiledRules, facts: Mapping[str, Fact], classes: Mapping[int, list[dict]]
                      ) -> tuple[dict[str, FactCoding], list[str], frozenset] | None:
    """Per fact, the lines that compute its signature codes inside the validator's fast path; the
    names of the locals holding the codes, in signature order; and the positions whose class
    variables (``q<position>_<j>``, the class under ``classes[position][j]``: see
    :func:`engine.rules.memos.class_maps`) these lines set too.  None when a slot is of a kind
    this does not write (the caller then keeps validation and signature apart)."""
    present: dict[str, list[str]] = {}
    absent: dict[str, list[str]] = {}
    env: dict = {}
    enums: dict[str, tuple[dict, str]] = {}
    codes = []
    folded = set()
    for k, slot in enumerate(compiled.slots):
        fact = facts.get(slot.fact)
        if fact is None or fact.type != slot.type:
            return None
        maps = classes.get(k, [])
        # the code and its classes: one local, or a tuple unpacked into several
        target = ", ".join([f"c{k}", *(f"q{k}_{j}" for j in range(len(maps)))])

        def result(code, maps=maps):  # what the target is set to for ``code``
            return (code, *(m[code] for m in maps)) if maps else code

        codes.append(f"c{k}")
        present_lines = present.setdefault(slot.fact, [])
        absent.setdefault(slot.fact, []).append(f"{target} = {_constant(result(None), env, f'_absent{k}')}")
        literal = {value: j for j, value in enumerate(slot.table)}
        other = len(slot.table)
        if slot.mode == "rank" and fact.type in ("integer", "number", "datetime"):
            if len(slot.table) > _CHAIN_LIMIT:
                if maps:
                    return None
                env["_bisect_left"] = bisect_left
                env[f"_rank{k}"] = slot.table
                present_lines.append(f"j = _bisect_left(_rank{k}, {{value}}); c{k} = 2 * j + 1 if j < {other} "
                                     f"and _rank{k}[j] == {{value}} else 2 * j")
            else:
                constants = {}

                def as_source(code, constants=constants, k=k, result=result):
                    constants[code] = _constant(result(code), env, f"_code{k}_{code}")
                    return constants[code]

                present_lines.append(f"{target} = {_rank_expression(slot.table, as_source, env, k)}")
        elif slot.mode == "code" and fact.type == "enum":
            if slot.fact in enums:
                return None
            by_value = {value: result(literal.get(value, other)) for value in fact.values}
            if maps:
                enums[slot.fact] = (by_value, f"t{k}")
                present_lines.append(f"{target} = t{k}")
            else:
                enums[slot.fact] = (by_value, f"c{k}")
        elif slot.mode == "code" and fact.type == "boolean":
            yes = _constant(result(literal.get(True, other)), env, f"_yes{k}")
            no = _constant(result(literal.get(False, other)), env, f"_no{k}")
            present_lines.append(f"{target} = {yes} if {{value}} is True else {no}")
        elif slot.mode == "code" and fact.type == "string":
            env[f"_literal{k}"] = {value: result(j) for value, j in literal.items()}
            env[f"_other{k}"] = result(other)
            present_lines.append(f"{target} = _literal{k}.get({{value}}, _other{k})")
        elif slot.mode == "presence":
            present_lines.append(f"{target} = {_constant(result(0), env, f'_present{k}')}")
        else:
            return None
        if maps:
            folded.add(k)
    for n, (k, pattern) in enumerate(compiled.patterns):
        fact = compiled.slots[k].fact
        env[f"_match{n}"] = searcher(pattern)
        present.setdefault(fact, []).append(f"m{n} = 1 if _match{n}({{value}}) else 0")
        absent.setdefault(fact, []).append(f"m{n} = None")
        codes.append(f"m{n}")
    codings = {}
    for name in {*present, *absent}:
        enum_codes, enum_target = enums.get(name, (None, ""))
        codings[name] = FactCoding(tuple(present.get(name, ())), tuple(absent.get(name, ())), env,
                                   enum_codes, enum_target)
    return codings, codes, frozenset(folded)


def fused_code(compiled: CompiledRules, facts: Mapping[str, Fact], years: Mapping[str, tuple[int, int]]
               ) -> tuple[dict, list[str], list[str], frozenset] | None:
    """``(globals, body, code names, positions whose classes it sets)`` for :func:`engine.rules.memos.generate_lookup`: the validator's
    ASCII fast path (free text only when ASCII; the datetimes of ``years`` only within their
    years), which returns None for a ticket it does not take and leaves the normalised ticket in
    ``out`` and the signature codes in the locals named; None when the two cannot be fused."""
    classes = class_maps(tuple(spec.key for spec in compiled.rulesets),
                         tuple(spec.classes for spec in compiled.rulesets))
    codings = signature_codings(compiled, facts, classes)
    if codings is None:
        return None
    by_fact, codes, folded = codings
    checks = getattr(ticket_validator(facts), "checks", None)
    if checks is None:
        return None
    code = fast_path_code(facts, checks, "return None", ascii_only=True, coding=by_fact, years=years)
    if code is None:
        return None
    env, body = code
    return env, body, codes, folded
