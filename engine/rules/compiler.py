"""Compile rule conditions into durable-rules JSON rulesets (a vetted subset only).

What durable-rules gets (see ``notes/durable-rules-constructs.md`` for why):

* Facts hold **small non-negative integers only**, one field per need:

  - ``v<i>``: the *code* of fact slot ``i``.  Ordered facts (integer, number,
    datetime) are rank-coded against the sorted distinct thresholds
    ``t_0 < ... < t_{k-1}`` the policy compares them with: ``2j+1`` when the
    value equals ``t_j``, ``2j`` when it lies strictly between ``t_{j-1}`` and
    ``t_j``, ``2k`` above all.  Then ``x > t_j`` is ``v > 2j+1``, ``x == t_j``
    is ``v == 2j+1`` and so on, exactly.  String, enum and boolean facts are
    coded by the index of the value among the literals the policy uses
    (sorted); any other value gets ``len(literals)``.  Absent fact: no field.
  - ``h<i>``: 1/0, the fact is present (always sent; this is how ``exists`` works
    without ``$ex``/``$nex``).
  - ``s<k>``: 1/0, the code is in the set of an ``in``/``not_in`` with several
    values (absent fact: no field).
  - ``m<k>``: 1/0, a ``matches`` regex found a match (an RE2 search, linear in
    the text: :mod:`engine.core.regex`; absent fact: no field).

  So ticket strings, floats, big integers and datetimes never reach the C core,
  and type strictness (``10`` vs ``10.0``) cannot bite.
* ``not`` is pushed to the leaves (negation normal form): under Kleene logic
  with "a missing field never matches" that is exact, because a negated leaf on
  a missing fact stays unmatched (``¬(x > t)`` becomes ``v <= 2j+1``).
* Conditions are expanded to DNF here; each alternative becomes one durable rule
  ``{"all": [{"m": atom | {"$and": [atom, ...]}}]}`` whose atoms are
  ``{field: n}`` or ``{"$neq"|"$gt"|"$gte"|"$lt"|"$lte": {field: n}}``.  No
  ``$or``, ``$ex``, ``$nex``, ``$mt``, no nesting, no ``post``.
* At most :data:`MAX_ALTERNATIVES` alternatives of at most :data:`MAX_TESTS`
  tests per rule (else a load-time Problem), at most :data:`MAX_RULES_PER_RULESET`
  durable rules (= DNF alternatives) and :data:`MAX_FIELDS_PER_FACT` fields per
  ruleset; a policy simply gets more rulesets.
"""
from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

from .conditions import AllOf, Condition, Leaf, Not, leaves, parse_condition, reads
from ..core.errors import PolicyError, Problem
from ..core.regex import searcher
from ..core.suggest import did_you_mean
from ..facts.values import describe, json_type
from ..facts.vocabulary import PRIORITIES, Fact

MAX_ALTERNATIVES = 64  # DNF terms per rule
MAX_TESTS = 64  # atoms per DNF term
# durable walks the alpha network with a fixed 64-entry stack (events.c handleAlpha,
# error 303).  The pending nodes on that stack are never ancestors of one another,
# so there are at most as many as the alpha tree has leaves, i.e. durable rules.
MAX_RULES_PER_RULESET = 60
MAX_FIELDS_PER_FACT = 200  # durable fails above 255 properties per fact (+ sid, id)
# Rules are grouped into rulesets by the facts they read, merging groups while the
# number of distinct inputs a group can see stays at most this (see _group).
MAX_GROUP_INPUTS = 4096
RULE_KEYS = ("id", "description", "priority", "when")
REQUIRED_RULE_KEYS = ("id", "description", "priority", "when")
MAX_RULE_ID_LENGTH = 200

_NEGATE = {"eq": "ne", "ne": "eq", "in": "not_in", "not_in": "in", "gt": "lte", "gte": "lt", "lt": "gte",
           "lte": "gt", "matches": "not_matches", "not_matches": "matches"}


@dataclass(frozen=True)
class RuleDef:
    """One rule of a TriagePolicy, a decision-table cell or a route.

    ``index`` is its position in policy order (rules, then table cells, then
    routes); ``kind`` is ``rule``, ``cell`` or ``route`` (a route has no
    priority: it picks the PriorityTargets); ``path`` is where it is written,
    relative to the TriagePolicy's ``spec``."""

    id: str
    description: str
    priority: str | None
    condition: Condition
    index: int
    kind: str = "rule"
    path: tuple = ()


@dataclass(frozen=True)
class Slot:
    """How one fact is coded: ``mode`` is ``rank`` (table = thresholds), ``code``
    (table = literals) or ``presence`` (only presence or regexes matter)."""

    fact: str
    type: str
    mode: str
    table: tuple


@dataclass(frozen=True)
class FieldSpec:
    """One durable fact field derived from the signature: ``transform`` is
    ``value`` (the code itself, omitted when absent), ``present`` (1/0, always
    sent) or ``member`` (1/0 for ``code in members``, omitted when absent)."""

    name: str
    source: int
    transform: str
    members: frozenset = frozenset()


@dataclass(frozen=True)
class RulesetSpec:
    """One durable ruleset: its JSON definition and the fields its facts carry.

    ``key`` lists the signature positions its outcome depends on (the sources of
    its fields): the runtime memoises each ruleset on that projection, which has
    far fewer distinct values than the whole signature.  ``classes`` (aligned with
    ``key``) maps each code at that position to its *class* for this ruleset, or is
    None where every code is a class of its own: codes that every test of the ruleset
    treats alike (``service`` values no rule of it names) get one class, so the memo is
    keyed on classes and a ruleset is asked about each class once."""

    definition: str
    fields: tuple[FieldSpec, ...]
    rule_positions: tuple[int, ...]
    key: tuple[int, ...] = ()
    alternatives: tuple[tuple[int, tuple[tuple[str, str, int], ...]], ...] = ()  # (rule position, atoms)
    classes: tuple[Mapping[int | None, int | None] | None, ...] = ()


@dataclass(frozen=True)
class CompiledRules:
    """Everything the runtime needs.  The *signature* of a ticket is a tuple with
    one code per slot (None when the fact is absent) followed by one 0/1 per
    pattern (None when absent); the matched rules depend on nothing else."""

    rules: tuple[RuleDef, ...]
    slots: tuple[Slot, ...]
    patterns: tuple[tuple[int, str], ...]  # (slot index, regex)
    rulesets: tuple[RulesetSpec, ...]
    # per rule position, its DNF alternatives as they were compiled: atoms (field, op, n)
    terms: tuple[tuple[tuple[tuple[str, str, int], ...], ...], ...] = ()
    fields: Mapping[str, FieldSpec] | None = None  # field name -> how it is derived from the signature

    def signature_function(self) -> Callable[[Mapping], tuple]:
        return signature_function(self)


class _TooComplex(Exception):
    pass


# --------------------------------------------------------------------------- size bounds


def condition_size(cond: Condition, negate: bool = False) -> tuple[int, int]:
    """Upper bounds (alternatives, tests per alternative) of the DNF of ``cond``."""
    if isinstance(cond, Leaf):
        return 1, 1
    if isinstance(cond, Not):
        return condition_size(cond.item, not negate)
    sizes = [condition_size(item, negate) for item in cond.items]
    if isinstance(cond, AllOf) != negate:  # a conjunction
        terms, tests = 1, 0
        for t, n in sizes:
            terms, tests = terms * t, tests + n
        return terms, tests
    return sum(t for t, _ in sizes), max(n for _, n in sizes)


def check_compilable(cond: Condition) -> list[Problem]:
    """Problems (path relative to ``when``) if ``cond`` is too large to compile safely."""
    terms, tests = condition_size(cond)
    if terms > MAX_ALTERNATIVES:
        return [Problem(f"condition is too complex to compile: it expands to {terms} alternatives "
                        f"(at most {MAX_ALTERNATIVES}); split it into several rules or simplify nested any/not")]
    if tests > MAX_TESTS:
        return [Problem(f"condition is too complex to compile: one alternative needs {tests} tests "
                        f"(at most {MAX_TESTS}); split it into several rules")]
    return []


# --------------------------------------------------------------------------- building RuleDefs


def key_problems(mapping: Mapping, allowed: tuple, required: tuple, what: str, path: tuple = ()) -> list[Problem]:
    """An unknown key (with "did you mean") or a missing required key of a rule, table or route
    mapping, at ``path``."""
    found = [Problem(f"unknown key {str(key)!r}", path + (key,), suggestion=did_you_mean(key, allowed))
             for key in mapping if key not in allowed]
    found += [Problem(f"{what} is missing {key!r}", path) for key in required if key not in mapping]
    return found



def build_rules(rules_yaml: object, facts: Mapping[str, Fact],
                named: Mapping[str, Condition] | None = None) -> tuple[list[RuleDef], list[Problem]]:
    """RuleDefs for every valid rule, and every problem (paths relative to the rules list).
    ``named``: the policy's named conditions, usable as ``{condition: name}``."""
    if not isinstance(rules_yaml, list):
        return [], [Problem(f"rules must be a list, got {json_type(rules_yaml)}")]
    out: list[RuleDef] = []
    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    for i, rule in enumerate(rules_yaml):
        found: list[Problem] = []
        if not isinstance(rule, Mapping):
            problems.append(Problem(f"a rule must be a mapping with {', '.join(RULE_KEYS)}, got {json_type(rule)}",
                                    (i,)))
            continue
        rule_id = rule.get("id")
        known_id = rule_id if isinstance(rule_id, str) and rule_id else None
        found.extend(key_problems(rule, RULE_KEYS, REQUIRED_RULE_KEYS, "rule", (i,)))
        if "id" in rule:
            if known_id is None or len(rule_id) > MAX_RULE_ID_LENGTH or rule_id != rule_id.strip():
                found.append(Problem(f"rule id must be a non-empty string without surrounding spaces "
                                     f"(at most {MAX_RULE_ID_LENGTH} characters), got {describe(rule_id)}", (i, "id")))
                known_id = None
            elif known_id in first_index:
                found.append(Problem(f"duplicate rule id {known_id!r} (first used by rules[{first_index[known_id]}])",
                                     (i, "id")))
            else:
                first_index[known_id] = i
        if "description" in rule and not isinstance(rule["description"], str):
            found.append(Problem(f"description must be a string, got {describe(rule['description'])}",
                                 (i, "description")))
        priority = rule.get("priority")
        if "priority" in rule and (not isinstance(priority, str) or priority not in PRIORITIES):
            hint = did_you_mean(str(priority).upper(), PRIORITIES) if isinstance(priority, (str, int)) else None
            found.append(Problem(f"priority must be one of {', '.join(PRIORITIES)}, got {describe(priority)}",
                                 (i, "priority"), suggestion=hint))
        cond = None
        if "when" in rule:
            cond, cond_problems = parse_condition(rule["when"], facts, named)
            found.extend(p.prefixed(i, "when") for p in cond_problems)
            if cond is not None:
                found.extend(p.prefixed(i, "when") for p in check_compilable(cond))
        if known_id is not None:
            found = [p.at(rule_id=known_id) for p in found]
        problems.extend(found)
        if not any(p.is_error for p in found):
            out.append(RuleDef(rule_id, rule.get("description", ""), priority, cond, i, path=("rules", i)))
    return out, problems


# --------------------------------------------------------------------------- compilation


def _slots_for(rules: tuple[RuleDef, ...]) -> tuple[tuple[Slot, ...], tuple[tuple[int, str], ...]]:
    info = reads(*(r.condition for r in rules))
    types = {}
    for rule in rules:
        for leaf in leaves(rule.condition):
            types.setdefault(leaf.fact, leaf.type)
    slots = []
    patterns = []
    for fact in sorted(info.facts):
        ftype = types[fact]
        if fact in info.thresholds:
            slot = Slot(fact, ftype, "rank", info.thresholds[fact])
        elif fact in info.literals:
            slot = Slot(fact, ftype, "code", info.literals[fact])
        else:
            slot = Slot(fact, ftype, "presence", ())
        for pattern in info.patterns.get(fact, ()):
            patterns.append((len(slots), pattern))
        slots.append(slot)
    return tuple(slots), tuple(patterns)


class _Atoms:
    """Allocates durable fields and turns (possibly negated) leaves into atoms ``(field, op, n)``."""

    def __init__(self, slots, patterns):
        self.slots = slots
        self.slot_of = {s.fact: i for i, s in enumerate(slots)}
        self.codes = []
        for s in slots:
            self.codes.append({v: (2 * j + 1 if s.mode == "rank" else j) for j, v in enumerate(s.table)})
        self.pattern_of = {(slots[i].fact, p): k for k, (i, p) in enumerate(patterns)}
        self.fields: dict[str, FieldSpec] = {}
        self.member_fields: dict[tuple[int, frozenset], str] = {}

    def _field(self, name, source, transform, members=frozenset()):
        if name not in self.fields:
            self.fields[name] = FieldSpec(name, source, transform, members)
        return name

    def atom(self, leaf: Leaf, negate: bool) -> tuple[str, str, int]:
        i = self.slot_of[leaf.fact]
        op = leaf.op
        if op == "exists":
            return self._field(f"h{i}", i, "present"), "eq", int(leaf.value != negate)
        if negate:
            op = _NEGATE[op]
        if op in ("matches", "not_matches"):
            k = self.pattern_of[(leaf.fact, leaf.value)]
            name = self._field(f"m{k}", len(self.slots) + k, "value")
            return name, "eq", int(op == "matches")
        codes = self.codes[i]
        if op in ("in", "not_in"):
            members = frozenset(codes[v] for v in leaf.value)
            if len(members) == 1:
                op, value = ("eq" if op == "in" else "ne"), next(iter(members))
            else:
                key = (i, members)
                if key not in self.member_fields:
                    self.member_fields[key] = self._field(f"s{len(self.member_fields)}", i, "member", members)
                return self.member_fields[key], "eq", int(op == "in")
        else:
            value = codes[leaf.value]
        return self._field(f"v{i}", i, "value"), op, value


def _dnf(cond: Condition, negate: bool, atoms: _Atoms) -> list[frozenset]:
    if isinstance(cond, Leaf):
        return [frozenset([atoms.atom(cond, negate)])]
    if isinstance(cond, Not):
        return _dnf(cond.item, not negate, atoms)
    parts = [_dnf(item, negate, atoms) for item in cond.items]
    if isinstance(cond, AllOf) != negate:
        terms = [frozenset()]
        for part in parts:
            terms = list(dict.fromkeys(a | b for a in terms for b in part))
            if len(terms) > MAX_ALTERNATIVES:
                raise _TooComplex
    else:
        terms = list(dict.fromkeys(t for part in parts for t in part))
    if len(terms) > MAX_ALTERNATIVES or any(len(t) > MAX_TESTS for t in terms):
        raise _TooComplex
    return terms


def _atom_json(field: str, op: str, value: int) -> dict:
    if op == "eq":
        return {field: value}
    return {{"ne": "$neq"}.get(op, "$" + op): {field: value}}


def _term_json(term: frozenset) -> dict:
    atoms = [_atom_json(*a) for a in sorted(term)]
    return atoms[0] if len(atoms) == 1 else {"$and": atoms}


def compile_rules(rules: list[RuleDef] | tuple[RuleDef, ...], *, checked: bool = False) -> CompiledRules:
    """Compile RuleDefs (in policy order) into rulesets; ``PolicyError`` for a rule too large.

    ``checked=True`` says the rules come from :func:`build_rules`, which has already refused the
    rules :func:`check_compilable` finds too large, so they are not sized again.
    """
    rules = tuple(rules)
    problems = []
    for rule in () if checked else rules:
        where = rule.path or (rule.index,)
        problems.extend(p.prefixed(*where, "when").at(rule_id=rule.id) for p in check_compilable(rule.condition))
    if problems:
        raise PolicyError(problems)
    slots, patterns = _slots_for(rules)
    atoms = _Atoms(slots, patterns)
    compiled_terms = []
    for position, rule in enumerate(rules):
        try:
            compiled_terms.append(_dnf(rule.condition, False, atoms))
        except _TooComplex:  # unreachable after check_compilable; kept as a guard
            raise PolicyError([Problem("condition is too complex to compile", (*(rule.path or (rule.index,)), "when"),
                                       rule_id=rule.id)]) from None
    # Alternatives, not rules, are grouped: a rule fires when any of its alternatives does, and the
    # runtime ORs the rulesets' answers, so the alternatives of one rule may sit in different rulesets.
    # A named condition such as "several customers" (three facts, one per alternative) then widens
    # no ruleset's memo key beyond what one alternative reads.
    alternatives = [(position, term) for position, terms in enumerate(compiled_terms) for term in terms]
    sources = [frozenset(atoms.fields[a[0]].source for a in term) for _, term in alternatives]
    cardinality = [_cardinality(slot) for slot in slots] + [3] * len(patterns)

    rulesets: list[RulesetSpec] = []
    for group in _group(sources, cardinality):
        chunk: dict[str, dict] = {}
        chunk_fields: set[str] = set()
        chunk_terms: list[tuple[int, tuple]] = []
        for position, term in (alternatives[k] for k in group):
            fields = {a[0] for a in term}
            if len(chunk) >= MAX_RULES_PER_RULESET or len(chunk_fields | fields) > MAX_FIELDS_PER_FACT:
                rulesets.append(_ruleset(chunk, chunk_fields, chunk_terms, atoms))
                chunk, chunk_fields, chunk_terms = {}, set(), []
            chunk[f"t{len(chunk)}"] = {"all": [{"m": _term_json(term)}], "run": str(position)}
            chunk_fields |= fields
            chunk_terms.append((position, tuple(sorted(term))))
        if chunk:
            rulesets.append(_ruleset(chunk, chunk_fields, chunk_terms, atoms))
    terms = tuple(tuple(tuple(sorted(term)) for term in rule_terms) for rule_terms in compiled_terms)
    return CompiledRules(rules, slots, patterns, tuple(rulesets), terms, dict(atoms.fields))


def _ruleset(chunk: dict, chunk_fields: set, chunk_terms: list, atoms: "_Atoms") -> RulesetSpec:
    fields = tuple(atoms.fields[name] for name in sorted(chunk_fields))
    key = tuple(sorted({f.source for f in fields}))
    positions = tuple(dict.fromkeys(position for position, _ in chunk_terms))
    tests = sorted({atom for _, term in chunk_terms for atom in term})
    classes = tuple(_classes(source, [(atoms.fields[name], op, n) for name, op, n in tests
                                      if atoms.fields[name].source == source], atoms.slots) for source in key)
    return RulesetSpec(json.dumps(chunk, sort_keys=True), fields, positions, key, tuple(chunk_terms), classes)


_COMPARE = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
            "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}


def _classes(source: int, tests: list[tuple[FieldSpec, str, int]], slots) -> dict | None:
    """Signature code -> class at position ``source``: codes on which each of ``tests`` (the
    ruleset's tests of fields derived from that position) gives the same result share a class;
    an absent fact (None) is a class of its own.  None when no two codes share a class."""
    if source >= len(slots):
        domain = range(2)  # a pattern: matched or not
    else:
        slot = slots[source]
        domain = range(2 * len(slot.table) + 1 if slot.mode == "rank" else
                       len(slot.table) + 1 if slot.mode == "code" else 1)
    by_results: dict[tuple, int] = {}
    classes: dict = {None: None}
    for code in domain:
        results = tuple(_COMPARE[op](1 if spec.transform == "present" else
                                     int(code in spec.members) if spec.transform == "member" else code, n)
                        for spec, op, n in tests)
        classes[code] = by_results.setdefault(results, len(by_results))
    return None if len(by_results) == len(domain) else classes


def _cardinality(slot: Slot) -> int:
    """How many distinct codes a slot can take, absent included."""
    if slot.mode == "rank":
        return 2 * len(slot.table) + 2
    if slot.mode == "code":
        return len(slot.table) + 2
    return 2


def _group(sources: list[frozenset], cardinality: list[int]) -> list[list[int]]:
    """Alternatives (indices into ``sources``) grouped so that each group reads few inputs.

    Alternatives reading the same signature positions share a group; groups are then
    merged greedily (largest first, into the first group that stays within
    :data:`MAX_GROUP_INPUTS` distinct inputs), so a policy gets few rulesets
    whose memo keys each have a small domain."""
    by_sources: dict[frozenset, list[int]] = {}
    for position, src in enumerate(sources):
        by_sources.setdefault(src, []).append(position)

    def size(src: frozenset) -> int:
        n = 1
        for i in src:
            n *= cardinality[i]
        return n

    merged: list[tuple[frozenset, list[int]]] = []
    for src, positions in sorted(by_sources.items(), key=lambda kv: (-size(kv[0]), kv[1][0])):
        for k, (have, members) in enumerate(merged):
            union = have | src
            if size(union) <= MAX_GROUP_INPUTS:
                merged[k] = (union, members + positions)
                break
        else:
            merged.append((src, list(positions)))
    return [sorted(members) for _, members in sorted(merged, key=lambda g: min(g[1]))]


# --------------------------------------------------------------------------- signatures


def signature_function(compiled: CompiledRules) -> Callable[[Mapping], tuple]:
    """``ticket -> signature``; raises TypeError for values a normalised ticket cannot hold.

    Generated once per policy as straight-line code, one expression per slot (a loop calling
    one encoder closure per slot cost as much as matching the memoised rules itself):

    * ``rank``: ``2j+1`` when the value equals threshold ``t_j``, else ``2j`` with ``j`` the
      number of thresholds below it (``bisect_left``);
    * ``code``: the index among the literals; any other value (or type) gets ``len(literals)``;
      only real booleans get a boolean literal's code (``1`` is not ``True``);
    * ``presence``: ``0``;
    * then one ``0``/``1`` per ``matches`` pattern (an RE2 search: linear time, whatever the
      pattern and the text).

    An absent fact (or ``None``) is ``None`` in every position.
    """
    env, body, codes, _ = signature_code(compiled)
    lines = ["def signature(ticket):", *body, f"    return ({', '.join(codes)}{',' if len(codes) == 1 else ''})"]
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<ticket signature>", "exec"), env)
    signature = env.pop("signature")  # its globals are env: left there, it would be a reference cycle
    signature.source = source  # for debugging
    return signature


def signature_code(compiled: CompiledRules) -> tuple[dict, list[str], list[str], frozenset]:
    """The body of :func:`signature_function` (indented lines reading ``ticket``), the globals it
    needs, and the names of the local variables that hold the signature's codes, in order: for
    generated code that uses the codes without building the tuple (see engine.rules.memos).  Last,
    the positions whose class variables the body sets (none)."""
    env: dict = {"_type": type, "_str": str, "_bisect_left": bisect_left}
    lines = ["    get = ticket.get"]
    codes = []
    for k, slot in enumerate(compiled.slots):
        v, c = f"v{k}", f"c{k}"
        lines.append(f"    {v} = get({slot.fact!r})")
        if slot.mode == "rank":
            env[f"_table{k}"] = slot.table
            lines += [f"    if {v} is None:",
                      f"        {c} = None",
                      "    else:",
                      f"        j = _bisect_left(_table{k}, {v})",
                      f"        {c} = 2 * j + 1 if j < {len(slot.table)} and _table{k}[j] == {v} else 2 * j"]
        elif slot.mode == "code":
            env[f"_codes{k}"] = {value: j for j, value in enumerate(slot.table)}
            other = len(slot.table)
            accept = f"{v} is True or {v} is False" if slot.type == "boolean" else f"_type({v}) is _str"
            lines.append(f"    {c} = None if {v} is None else _codes{k}.get({v}, {other}) if {accept} else {other}")
        else:
            lines.append(f"    {c} = None if {v} is None else 0")
        codes.append(c)
    for n, (k, pattern) in enumerate(compiled.patterns):
        env[f"_search{n}"] = searcher(pattern)
        fact = compiled.slots[k].fact
        lines.append(f"    p{n} = get({fact!r})")
        lines.append(f"    m{n} = None if p{n} is None else 1 if _search{n}(p{n}) else 0")
        codes.append(f"m{n}")
    return env, lines, codes, frozenset()
