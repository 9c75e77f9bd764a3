"""The rule evaluator's memos: what each ruleset answered for its part of a ticket signature.

Rule alternatives are grouped into rulesets by the facts they read, so a
ruleset's *projection* of the signature (the codes of the inputs it reads, each
mapped to its class for that ruleset: see ``RulesetSpec.classes``) has a small
domain, and hits even when whole signatures rarely repeat.  Per ruleset:

* ``rulesets[k]``: projection -> the *number* of its answer;
* ``answers[k]``: number -> answer ``(bit mask of the rules it fired, its share of
  the review)``, and ``answer_ids[k]`` the reverse.  Distinct answers are few,
  and small ints hash far faster than the answers themselves;

and for the ticket, ``joined``: the numbers of every ruleset -> ``(matched rule
ids, review)``, with ``mask_ids`` turning a bit mask into rule ids.

A :class:`Memos` is one *generation*: numbers only grow within it and never
change meaning.  When a ruleset's distinct answers exceed the bound, the
evaluator starts a new generation (and a new lookup function over it) instead
of renumbering, so a lookup running on another thread finishes on the old one,
consistently.  Projection and joined memos are bounded by ``remember`` (see
:mod:`engine.core.memo`); emptying them loses nothing but time.
"""
from __future__ import annotations

from typing import Callable

from ..core.memo import remember


class Memos:
    """One generation of a rule evaluator's memos (see the module docstring)."""

    def __init__(self, rulesets: int, size: int) -> None:
        self.size = size
        self.rulesets: tuple[dict, ...] = tuple({} for _ in range(rulesets))
        self.answers: tuple[list, ...] = tuple([] for _ in range(rulesets))
        self.answer_ids: tuple[dict, ...] = tuple({} for _ in range(rulesets))
        self.joined: dict[tuple, tuple] = {}
        self.mask_ids: dict[int, tuple[str, ...]] = {}

    def number(self, k: int, answer: tuple) -> int | None:
        """The number of ruleset ``k``'s ``answer``, numbering it if new; None when this generation
        holds as many distinct answers as it may (the caller starts a new generation).  Callers
        serialise this."""
        ids = self.answer_ids[k]
        found = ids.get(answer)
        if found is None:
            if len(ids) >= self.size:
                return None
            found = ids[answer] = len(self.answers[k])
            self.answers[k].append(answer)
        return found

    def remember_projection(self, k: int, projection: tuple, number: int) -> None:
        remember(self.rulesets[k], projection, number, self.size)

    def join(self, numbers: tuple, rule_ids: tuple[str, ...], combine: Callable) -> tuple:
        """``(matched ids, review)`` from every ruleset's numbered answer; memoised on the numbers."""
        answers = [self.answers[k][n] for k, n in enumerate(numbers)]
        mask = 0
        for fired, _ in answers:
            mask |= fired
        ids = self.mask_ids.get(mask)
        if ids is None:
            ids = remember(self.mask_ids, mask, tuple(rule_id for p, rule_id in enumerate(rule_ids) if mask >> p & 1),
                           self.size)
        return remember(self.joined, numbers, (ids, combine(part for _, part in answers)), self.size)


def class_maps(keys: tuple[tuple[int, ...], ...], classes: tuple) -> dict[int, list[dict]]:
    """Per signature position, the distinct class maps the rulesets apply to it (``keys[k]`` and
    ``classes[k]`` as in :func:`generate_lookup`), in first-use order: the lookup's class variable
    ``q<position>_<j>`` holds the class under map ``j``."""
    by_position: dict[int, list[dict]] = {}
    for k, key in enumerate(keys):
        for i, to_class in zip(key, classes[k] if k < len(classes) else ()):
            if to_class is not None and to_class not in by_position.setdefault(i, []):
                by_position[i].append(to_class)
    return {i: maps for i, maps in by_position.items() if maps}


def generate_lookup(memos: Memos, keys: tuple[tuple[int, ...], ...], slow: Callable, join: Callable,
                    signature: tuple[dict, list[str], list[str], frozenset] | None = None, classes: tuple = (),
                    result: str = "{}"):
    """``signature -> (matched ids, review)`` as straight-line code over ``memos``: one dict lookup
    per ruleset on its projection (``keys[k]``: the signature positions it reads, each code mapped
    to its class where ``classes[k]`` has a mapping for it), then one in the joined memo.  Any
    ruleset without its part: ``slow(signature)``; a joined miss: ``join(numbers)``.

    With ``signature`` (globals, body, code names and the positions whose class variables the body
    sets itself: :func:`engine.rules.compiler.signature_code`, :func:`engine.rules.fastpath.fused_code`),
    the function takes the ticket instead and computes the codes inline, building the signature
    tuple only for ``slow``.

    ``result``: what the function returns, ``{}`` standing for ``(matched ids, review)``; e.g.
    ``out, {}`` with the fused body of :func:`engine.rules.fastpath.fused_code`, whose locals it may name.

    (No memo of whole signatures: a policy that reads a dozen facts sees nearly every ticket as
    new, and an LRU cycled by more distinct signatures than it holds misses every time.)"""
    env = {"_slow": slow, "_join": join, "_joined_get": memos.joined.get}
    if signature is None:
        width = 1 + max((max(key) for key in keys if key), default=0)
        codes = [f"s[{i}]" for i in range(width)]
        lines = ["def lookup(s):"]
        whole = "s"
        folded = frozenset()
    else:
        code_env, body, codes, folded = signature
        env.update(code_env)
        lines = ["def lookup(ticket):", *body]
        whole = f"({', '.join(codes)}{',' if len(codes) == 1 else ''})"
    # the class variables: per position, one per distinct class map, all read from one dict of tuples
    by_position = class_maps(keys, classes)
    for i, maps in by_position.items():
        if i in folded:
            continue  # the body computed them
        if len(maps) == 1:
            env[f"_classes{i}"] = dict(maps[0])
        else:
            env[f"_classes{i}"] = {code: tuple(m[code] for m in maps) for code in maps[0]}
        lines.append(f"    {', '.join(f'q{i}_{j}' for j in range(len(maps)))} = _classes{i}[{codes[i]}]")
    numbers = []
    for k, key in enumerate(keys):
        env[f"_get{k}"] = memos.rulesets[k].get
        parts = [codes[i] if to_class is None else f"q{i}_{by_position[i].index(to_class)}"
                 for i, to_class in zip(key, classes[k] if k < len(classes) else (None,) * len(key))]
        projection = ", ".join(parts) + ("," if len(key) == 1 else "")
        lines += [f"    n{k} = _get{k}(({projection}))", f"    if n{k} is None:",
                  f"        return {result.format(f'_slow({whole})')}"]
        numbers.append(f"n{k}")
    joined = ", ".join(numbers) + ("," if len(numbers) == 1 else "")
    lines += [f"    key = ({joined})", "    found = _joined_get(key)",
              f"    return {result.format('_join(key) if found is None else found')}"]
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<ruleset memos>", "exec"), env)
    lookup = env.pop("lookup")  # its globals are env: left there, it would be a reference cycle
    lookup.source = source  # for debugging
    return lookup
