"""A TriagePolicy's facts and rules, checked and compiled once per document per load.

:func:`compile_triage` reads ``spec.facts``, then the named conditions, rules,
tables and routes (:func:`engine.rules.policy.build_triage_rules`) in one pass:
it checks and parses the vocabulary, then parses and type-checks every
condition against it and bounds its size.  The result carries every problem it
found (paths relative to ``spec``) with what it built:

* the semantic checks (:mod:`engine.policy.checks`) report those problems, and
  validate PolicyTest tickets with its facts;
* :func:`engine.evaluation.compiled_policy.compile_documents` builds the rule
  evaluator from its rules, which are compiled into durable-rules rulesets only
  then (:attr:`TriageRules.compiled`, on first use: validating needs no rulesets).

A :class:`TriageCache` holds the results of one load, so that the checks and the
compilation share them instead of compiling each document again.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..core.errors import Problem
from ..facts.vocabulary import FactSet, read_facts
from .compiler import CompiledRules, RuleDef, compile_rules
from .policy import build_triage_rules


@dataclass(frozen=True, eq=False)
class TriageRules:
    """What :func:`compile_triage` made of one TriagePolicy ``spec``."""

    facts: FactSet | None          # None when spec.facts has errors (the rules are then not read)
    rules: tuple[RuleDef, ...]     # the rules, table cells and routes without errors, in policy order
    problems: tuple[Problem, ...]  # errors and warnings, paths relative to spec
    routes: tuple[tuple[str, str], ...] = ()  # (route id, PriorityTargets name), first match wins

    @property
    def ok(self) -> bool:
        """No problem is an error: the policy can be evaluated."""
        return not any(p.is_error for p in self.problems)

    @cached_property
    def compiled(self) -> CompiledRules:
        """The rules compiled into durable-rules rulesets (once, on first use; only when :attr:`ok`)."""
        return compile_rules(self.rules, checked=True)


def compile_triage(spec: Mapping[str, Any]) -> TriageRules:
    """Check and build the facts and rules of a schema-valid TriagePolicy ``spec``, in one pass."""
    facts, fact_problems = read_facts(spec["facts"])
    problems = [p.prefixed("facts") for p in fact_problems]
    if facts is None:  # rules cannot be type-checked against a broken vocabulary
        return TriageRules(None, (), tuple(problems))
    built, rule_problems = build_triage_rules(spec, facts)  # named conditions, rules, tables, routes
    return TriageRules(facts, built.rules, tuple(problems + rule_problems), built.routes)


class TriageCache:
    """:func:`compile_triage` results by TriagePolicy document, for one load.

    Keyed by document identity (documents are not hashable); each entry holds its document, so an
    id is never reused while the cache lives.  Not shared between loads or threads.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Any, TriageRules]] = {}

    def get(self, doc: Any) -> TriageRules:
        """The compiled facts and rules of TriagePolicy document ``doc``, compiled on first request."""
        entry = self._entries.get(id(doc))
        if entry is None or entry[0] is not doc:
            entry = self._entries[id(doc)] = (doc, compile_triage(doc.spec))
        return entry[1]
