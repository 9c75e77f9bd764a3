"""The review flag: what an incomplete ticket could become, by partial evaluation of the compiled rules.

Each DNF alternative of each rule and table cell, exactly as compiled for
durable-rules (:attr:`CompiledRules.terms`), is evaluated on the ticket's
signature with three values per test: TRUE, FALSE, or UNKNOWN when the fact
it reads is missing (``exists`` tests are never unknown).  An alternative is
*open* when none of its tests is FALSE, at least one is TRUE and at least one
is UNKNOWN: the ticket says something that points at it, and lacks a fact that
would settle it.  The candidate is the highest priority of an open
alternative, with the facts that the open alternatives of that priority lack.
A decision shows it as ``review`` when it is higher than the decided priority.

Routes have no priority and are skipped.  The result depends on the signature
only, so the runtime memoises it beside the matched rules.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from .compiler import CompiledRules

PRIORITIES = ("P1", "P2", "P3", "P4")

_COMPARE = {
    "eq": int.__eq__, "ne": int.__ne__, "gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__,
}


class Review(NamedTuple):
    """``could_be``: a higher priority the ticket may deserve; ``missing``: the facts that would tell (sorted)."""

    could_be: str
    missing: tuple[str, ...]
    rank: int  # index of could_be in P1..P4

    def to_dict(self) -> dict:
        return {"could_be": self.could_be, "missing": list(self.missing)}

    def describe(self) -> str:
        """``could be P1 if `extent` and `workaround` were known``."""
        names = [f"`{fact}`" for fact in self.missing]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
        return f"could be {self.could_be} if {listed} {'was' if len(names) == 1 else 'were'} known"


def review_function(compiled: CompiledRules) -> Callable[[tuple], Review | None]:
    """``signature -> Review | None``: the candidate of the highest open priority (see the module doc)."""
    n_slots = len(compiled.slots)
    fields = compiled.fields or {}

    def fact_of(source: int) -> str:
        if source < n_slots:
            return compiled.slots[source].fact
        return compiled.slots[compiled.patterns[source - n_slots][0]].fact

    # per priority rank (P1 first): alternatives as tuples of tests (source, transform, members, compare, n, fact)
    by_rank: list[list[tuple]] = [[] for _ in PRIORITIES]
    for rule, terms in zip(compiled.rules, compiled.terms):
        if rule.priority is None:
            continue
        for term in terms:
            tests = []
            for name, op, n in term:
                spec = fields[name]
                tests.append((spec.source, spec.transform, spec.members, _COMPARE[op], n, fact_of(spec.source)))
            by_rank[PRIORITIES.index(rule.priority)].append(tuple(tests))
    ranked = tuple((rank, tuple(alternatives)) for rank, alternatives in enumerate(by_rank) if alternatives)

    def review(signature: tuple) -> Review | None:
        for rank, alternatives in ranked:
            missing: set[str] = set()
            for tests in alternatives:
                known_true = False
                lacking = []
                for source, transform, members, compare, n, fact in tests:
                    code = signature[source]
                    if transform == "present":
                        value = 0 if code is None else 1
                    elif code is None:
                        lacking.append(fact)
                        continue
                    elif transform == "member":
                        value = int(code in members)
                    else:
                        value = code
                    if not compare(value, n):
                        break
                    known_true = True
                else:
                    if known_true and lacking:
                        missing.update(lacking)
            if missing:
                return Review(PRIORITIES[rank], tuple(sorted(missing)), rank)
        return None

    return review
