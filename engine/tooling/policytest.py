"""Running PolicyTest documents: test cases as data, with rule coverage.

A case holds a ticket and the parts of the decision it expects.  Due dates
compare as instants (``2024-04-02T10:00:00+02:00`` equals
``2024-04-02T08:00:00Z``).  Coverage is the share of the TriagePolicy's rules
that at least one case matches (like ``opa test --coverage``): its rules, each
cell of its decision tables, and its routes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.errors import TicketError, TriageError

_DATETIMES = {"response_due", "resolution_due", "first_level_due", "second_level_due", "total_due"}


@dataclass(frozen=True)
class Mismatch:
    field: str
    expected: Any
    actual: Any


@dataclass(frozen=True)
class CaseResult:
    suite: str
    name: str
    file: str
    line: int
    mismatches: tuple[Mismatch, ...] = ()
    error: str | None = None
    matched_rules: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None


@dataclass(frozen=True)
class TestReport:
    cases: tuple[CaseResult, ...]
    rules: tuple[str, ...]               # every rule, table cell and route id of the TriagePolicy (latest version)
    covered: frozenset[str] = field(default_factory=frozenset)

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.passed)

    @property
    def failed(self) -> int:
        return len(self.cases) - self.passed

    @property
    def uncovered(self) -> tuple[str, ...]:
        return tuple(r for r in self.rules if r not in self.covered)

    @property
    def coverage(self) -> float:
        return 100.0 * (len(self.rules) - len(self.uncovered)) / len(self.rules) if self.rules else 100.0


def _same(key: str, expected: Any, actual: Any) -> bool:
    if key in _DATETIMES and isinstance(expected, str) and isinstance(actual, str):
        try:
            return datetime.fromisoformat(expected) == datetime.fromisoformat(actual)
        except ValueError:
            return False
    return expected == actual


def _compare(expect: dict, decision: dict) -> list[Mismatch]:
    out = []
    for key, expected in expect.items():
        actual = decision.get(key)
        if key == "operator_sla" and isinstance(expected, dict) and isinstance(actual, dict):
            out.extend(Mismatch(f"operator_sla.{k}", v, actual.get(k))
                       for k, v in expected.items() if not _same(k, v, actual.get(k)))
        elif not _same(key, expected, actual):
            out.append(Mismatch(key, expected, actual))
    return out


def run_policy_tests(policies: Any) -> TestReport:
    """Run every PolicyTest case of ``policies`` (a PolicySet)."""
    results = []
    covered: set[str] = set()
    for doc in policies.documents:
        if doc.kind != "PolicyTest":
            continue
        for i, case in enumerate(doc.spec["cases"]):
            line, _ = doc.source.locate(("spec", "cases", i))
            try:
                decision = policies.evaluate(case["ticket"])
            except TicketError as exc:
                results.append(CaseResult(doc.name, case["name"], doc.file, line,
                                          error=f"bad ticket: {exc}"))
                continue
            except TriageError as exc:
                results.append(CaseResult(doc.name, case["name"], doc.file, line, error=str(exc)))
                continue
            covered.update(decision.matched_rules)
            if decision.route is not None:
                covered.add(decision.route)
            results.append(CaseResult(doc.name, case["name"], doc.file, line,
                                      tuple(_compare(case["expect"], decision.to_dict())),
                                      matched_rules=decision.matched_rules))
    return TestReport(tuple(results), policies.rule_ids(), frozenset(covered))
