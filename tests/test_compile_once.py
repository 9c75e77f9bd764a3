"""Compile once: loading a policy set checks, parses and compiles each TriagePolicy exactly once.

The semantic checks compile a TriagePolicy (engine.rules.triage.compile_triage) and loading reuses
that result for the evaluator.  Each step is wrapped in a counter where its callers look it up.
"""
import shutil
from collections import Counter

import pytest

import engine.facts.validator
import engine.facts.vocabulary
import engine.rules.compiler
import engine.rules.triage
from conftest import POLICIES
from engine import PolicySet

COUNTED = [
    (engine.rules.triage, "compile_triage"),        # the one function that compiles a TriagePolicy
    (engine.facts.vocabulary, "check_facts"),       # checking spec.facts (read_facts and parse_facts)
    (engine.rules.compiler, "parse_condition"),     # parsing each rule's `when` (build_rules)
    (engine.rules.compiler, "check_compilable"),    # sizing each rule's condition
    (engine.rules.triage, "compile_rules"),         # durable-rules rulesets
    (engine.facts.validator, "compile_ticket_validator"),
]


@pytest.fixture
def calls(monkeypatch):
    counts: Counter = Counter()
    for module, name in COUNTED:
        original = getattr(module, name)

        def counted(*args, __original=original, __name=name, **kwargs):
            counts[__name] += 1
            return __original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    return counts


def _expected(policies: PolicySet) -> dict:
    triage = [d for d in policies.documents if d.kind == "TriagePolicy"]
    rules = sum(len(d.spec["rules"]) for d in triage)
    return {"compile_triage": len(triage), "check_facts": len(triage), "parse_condition": rules,
            "check_compilable": rules, "compile_rules": len(triage), "compile_ticket_validator": len(triage)}


def test_loading_compiles_each_triage_policy_once(calls):
    policies = PolicySet.load(POLICIES, git=False)
    assert dict(calls) == _expected(policies)


def test_each_version_is_compiled_once(calls, tmp_path):
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    text = (folder / "triage.yaml").read_text()
    assert "effective_from" not in text.split("spec:")[0]
    later = text.replace("metadata:\n", "metadata:\n  effective_from: 2030-01-01\n", 1)
    (folder / "triage-2030.yaml").write_text(later)
    policies = PolicySet.load(folder, git=False)
    assert len([d for d in policies.documents if d.kind == "TriagePolicy"]) == 2
    assert dict(calls) == _expected(policies)


def test_validating_compiles_no_rulesets(calls):
    assert engine.validate(POLICIES) == []
    assert calls["compile_triage"] == 1 and calls["compile_rules"] == 0
