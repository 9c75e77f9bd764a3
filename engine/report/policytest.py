"""The ``TestReport`` of ``PolicySet.run_tests()`` as text, JSON or JUnit XML."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tooling.policytest import TestReport


def policytest_text(report: TestReport) -> str:
    """pytest-like: a line per case, a diff per failure, rule coverage, then ``N passed, M failed``."""
    lines = []
    for case in report.cases:
        lines.append(f"{case.file}:{case.line}: {case.suite}::{case.name} {'PASSED' if case.passed else 'FAILED'}")
    failures = [c for c in report.cases if not c.passed]
    if failures:
        lines += ["", "=" * 30 + " FAILURES " + "=" * 30]
        for case in failures:
            lines.append(f"___ {case.suite}::{case.name} ({case.file}:{case.line}) ___")
            if case.error:
                lines.append(f"  error: {case.error}")
            for m in case.mismatches:
                lines += [f"  {m.field}:", f"    - expected: {json.dumps(m.expected)}",
                          f"    + actual:   {json.dumps(m.actual)}"]
    lines += ["", f"rule coverage: {report.coverage:.1f}% "
                  f"({len(report.rules) - len(report.uncovered)}/{len(report.rules)} rules matched by a case)"]
    lines.extend(f"  not covered: {rule}" for rule in report.uncovered)
    lines.append(f"{report.passed} passed, {report.failed} failed")
    return "\n".join(lines)


def policytest_json(report: TestReport) -> str:
    """One JSON document: counts, coverage (percent, 2 decimals), uncovered rules, every case."""
    return json.dumps({
        "passed": report.passed, "failed": report.failed, "coverage": round(report.coverage, 2),
        "uncovered_rules": list(report.uncovered),
        "cases": [{"suite": c.suite, "name": c.name, "file": c.file, "line": c.line, "passed": c.passed,
                   "error": c.error, "matched_rules": list(c.matched_rules),
                   "mismatches": [{"field": m.field, "expected": m.expected, "actual": m.actual}
                                  for m in c.mismatches]} for c in report.cases],
    }, indent=2)


def policytest_junit(report: TestReport) -> str:
    """One JUnit ``<testsuite>`` (what CI servers display); a failure's message lists its mismatches."""
    from xml.sax.saxutils import escape, quoteattr  # here: importing it costs ~10 ms at every start

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuite name="triage" tests="{len(report.cases)}" failures="{report.failed}">']
    for c in report.cases:
        out.append(f"  <testcase classname={quoteattr(c.suite)} name={quoteattr(c.name)} "
                   f"file={quoteattr(c.file)} line=\"{c.line}\">")
        if not c.passed:
            detail = c.error or "; ".join(f"{m.field}: expected {m.expected!r}, got {m.actual!r}"
                                          for m in c.mismatches)
            out.append(f"    <failure message={quoteattr(detail)}>{escape(detail)}</failure>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out)


RENDERERS = {"text": policytest_text, "json": policytest_json, "junit": policytest_junit}
