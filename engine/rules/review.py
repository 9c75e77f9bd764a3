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


_PY_OP = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def review_function(compiled: CompiledRules) -> Callable[[tuple], Review | None]:
    """``signature -> Review | None``: the candidate of the highest open priority (see the module doc).

    Generated once per policy as straight-line code, one block per alternative, P1's first (a loop
    over tests cost about 50 µs a ticket, paid on every whole-signature memo miss)::

        u = ()                                       # facts this alternative lacks
        if <no test is known FALSE>:
            if c3 is None: u += ("extent",)          # one line per test that can be unknown
            if u and len(u) < <tests>: missing.update(u)   # open: some test known TRUE, some unknown
    """
    n_slots = len(compiled.slots)
    fields = compiled.fields or {}

    def fact_of(source: int) -> str:
        if source < n_slots:
            return compiled.slots[source].fact
        return compiled.slots[compiled.patterns[source - n_slots][0]].fact

    by_rank: list[list[tuple]] = [[] for _ in PRIORITIES]
    for rule, terms in zip(compiled.rules, compiled.terms):
        if rule.priority is not None:  # routes give no priority
            by_rank[PRIORITIES.index(rule.priority)].extend(terms)

    env: dict = {"Review": Review}
    width = n_slots + len(compiled.patterns)
    lines = ["def review(signature):"]
    if width:
        lines.append(f"    {', '.join(f'c{i}' for i in range(width))}{',' if width == 1 else ''} = signature")
    for rank, terms in enumerate(by_rank):
        if not terms:
            continue
        lines.append("    missing = set()")
        for term in terms:
            false_if, unknown = [], []
            for name, op, n in term:
                spec = fields[name]
                c = f"c{spec.source}"
                if spec.transform == "present":  # presence is always known
                    false_if.append(f"(({c} is not None) {_PY_OP[op]} {bool(n)}) is False"
                                    if op in ("eq", "ne") else f"not ((0 if {c} is None else 1) {_PY_OP[op]} {n})")
                    continue
                if spec.transform == "member":
                    key = f"_members{len(env)}"
                    env[key] = spec.members
                    value = f"({c} in {key})"
                    false_if.append(f"({c} is not None and not (int{value} {_PY_OP[op]} {n}))")
                else:
                    false_if.append(f"({c} is not None and not ({c} {_PY_OP[op]} {n}))")
                unknown.append((c, fact_of(spec.source)))
            if not unknown:
                continue  # every test known: matched or not, never open
            condition = " or ".join(false_if)
            lines.append(f"    if not ({condition}):")
            lines.append("        u = ()")
            for c, fact in unknown:
                lines.append(f"        if {c} is None: u += ({fact!r},)")
            lines.append(f"        if u and len(u) < {len(term)}: missing.update(u)")
        lines.append(f"    if missing: return Review({PRIORITIES[rank]!r}, tuple(sorted(missing)), {rank})")
    lines.append("    return None")
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<ticket review>", "exec"), env)
    review = env["review"]
    review.source = source  # for debugging
    return review
