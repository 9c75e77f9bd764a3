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

Routes have no priority and are skipped.  Each ruleset's share of the review
depends only on the inputs that ruleset reads, so the runtime memoises it with
that ruleset's matches, and the whole result with the matched rules.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from .compiler import CompiledRules
from ..facts.vocabulary import PRIORITIES


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

Part = tuple  # (rank, missing facts as a frozenset): the best open alternative of one ruleset


def review_parts(compiled: CompiledRules) -> tuple[Callable[[tuple], Part | None], ...]:
    """One function per ruleset: ``signature -> (rank, missing facts) | None``, the highest priority
    among that ruleset's open alternatives and the facts those lack.

    A ruleset's part depends only on the signature's values at the ruleset's ``key`` (the inputs its
    alternatives read), so the runtime memoises it with the ruleset's matches; :func:`combine` joins
    the parts of all rulesets into the ticket's review."""
    return tuple(_generate(compiled, [(compiled.rules[position].priority, term)
                                      for position, term in spec.alternatives], f"<review of ruleset {k}>")
                 for k, spec in enumerate(compiled.rulesets))


def combine(parts) -> Review | None:
    """The review of a ticket from the parts of every ruleset (None entries ignored)."""
    best, missing = len(PRIORITIES), None
    for part in parts:
        if part is None:
            continue
        rank, facts = part
        if rank < best:
            best, missing = rank, set(facts)
        elif rank == best:
            missing |= facts
    return None if missing is None else Review(PRIORITIES[best], tuple(sorted(missing)), best)


def review_function(parts: tuple[Callable[[tuple], Part | None], ...]) -> Callable[[tuple], Review | None]:
    """``signature -> Review | None`` over every ruleset's part (:func:`review_parts`; the uncached path)."""
    return lambda signature: combine(part(signature) for part in parts)


def _generate(compiled: CompiledRules, alternatives: list[tuple[str | None, tuple]], name: str):
    """Straight-line code for ``alternatives`` ((priority, atoms) pairs), the highest priority first
    (a loop over tests cost about 50 µs a ticket)::

        u = ()                                       # facts this alternative lacks
        if <no test is known FALSE>:
            if c3 is None: u += ("extent",)          # one line per test that can be unknown
            if u and len(u) < <tests>: missing.update(u)   # open: some test known TRUE, some unknown

    Routes (no priority) are skipped."""
    n_slots = len(compiled.slots)
    fields = compiled.fields or {}

    def fact_of(source: int) -> str:
        if source < n_slots:
            return compiled.slots[source].fact
        return compiled.slots[compiled.patterns[source - n_slots][0]].fact

    by_rank: list[list[tuple]] = [[] for _ in PRIORITIES]
    for priority, term in alternatives:
        if priority is not None:
            by_rank[PRIORITIES.index(priority)].append(term)

    env: dict = {}
    width = n_slots + len(compiled.patterns)
    lines = ["def review(signature):"]
    if width:
        lines.append(f"    {', '.join(f'c{i}' for i in range(width))}{',' if width == 1 else ''} = signature")
    for rank, terms in enumerate(by_rank):
        blocks = []
        for term in terms:
            false_if, unknown = [], []
            for atom_name, op, n in term:
                spec = fields[atom_name]
                c = f"c{spec.source}"
                if spec.transform == "present":  # presence is always known
                    false_if.append(f"not ((0 if {c} is None else 1) {_PY_OP[op]} {n})")
                    continue
                if spec.transform == "member":
                    key = f"_members{len(env)}"
                    env[key] = spec.members
                    false_if.append(f"({c} is not None and not (int({c} in {key}) {_PY_OP[op]} {n}))")
                else:
                    false_if.append(f"({c} is not None and not ({c} {_PY_OP[op]} {n}))")
                unknown.append((c, fact_of(spec.source)))
            if not unknown or len(term) == 1:
                continue  # nothing can be unknown, or nothing else could be known TRUE: never open
            blocks.append(f"    if not ({' or '.join(false_if)}):")
            blocks.append("        u = ()")
            blocks.extend(f"        if {c} is None: u += ({fact!r},)" for c, fact in unknown)
            blocks.append(f"        if u and len(u) < {len(term)}: missing.update(u)")
        if blocks:
            lines.append("    missing = set()")
            lines.extend(blocks)
            lines.append(f"    if missing: return ({rank}, frozenset(missing))")
    lines.append("    return None")
    source = "\n".join(lines) + "\n"
    exec(compile(source, name, "exec"), env)
    review = env.pop("review")  # its globals are env: left there, it would be a reference cycle
    review.source = source  # for debugging
    return review
