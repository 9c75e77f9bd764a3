"""Reloading without leaks: a dropped or closed PolicySet gives back its durable-rules state.

Where the memory went (see engine/rules/runtime.py): durable's ``deleteRuleset`` frees a ruleset
but not the pools of the state its facts were asserted under, about 850 KiB per ruleset; and the
evaluator sat in reference cycles (an ``lru_cache`` over its own bound method, the Host's action
bound to it), so even the rulesets waited for the cycle collector.
"""
import gc
import json
import textwrap
import weakref

import pytest

from _watchdog import DurableWorker, run_snippet
from engine import PolicySet, TriageError
from engine.rules.compiler import build_rules, compile_rules
from engine.facts.vocabulary import parse_facts
from engine.facts.validator import validate_ticket
from engine.rules.runtime import RuleEvaluator

CREATED = "2024-04-02T10:00:00+02:00"
TICKETS = [{"id": f"T{i}", "created_at": CREATED, "service": service, "symptom": symptom, "extent": "all",
            "workaround": False}
           for i, (service, symptom) in enumerate([("hub", "down"), ("map", "visual"), ("exports", "down"),
                                                   ("payments", "down"), ("wallet", "question")])]


def test_close_frees_the_rules_engine_and_later_evaluations_raise(policy_copy):
    policies = PolicySet.load(policy_copy, git=False)
    before = [policies.evaluate(t).priority for t in TICKETS]
    assert not policies.closed
    policies.close()
    policies.close()  # idempotent
    assert policies.closed
    for ticket in TICKETS:  # memoised answers too
        with pytest.raises(TriageError, match="closed"):
            policies.evaluate(ticket)
    assert policies.calendar("partner-support").is_open  # what needs no rules engine still works
    with PolicySet.load(policy_copy, git=False) as again:
        assert [again.evaluate(t).priority for t in TICKETS] == before
    assert again.closed


def test_dropping_the_last_reference_frees_it_without_the_cycle_collector(policy_copy):
    gc.collect()
    gc.disable()
    try:
        policies = PolicySet.load(policy_copy, git=False)
        for ticket in TICKETS:
            policies.evaluate(ticket)
        evaluator = policies._compiled.triage_versions[0].evaluator
        core = evaluator._core
        alive = weakref.ref(evaluator)
        del evaluator, policies
        assert alive() is None  # no reference cycle kept it
        assert core.closed and core.host is None and core.handles == []  # its finalizer ran
    finally:
        gc.enable()


def _evaluator(rules, facts=None):
    facts = parse_facts({"id": {"type": "string", "required": True}, "created_at": {"type": "datetime",
                                                                                    "required": True},
                         **(facts or {"x": {"type": "integer"}})})
    built, problems = build_rules(rules, facts)
    assert not [p for p in problems if p.is_error]
    return RuleEvaluator(compile_rules(built), facts), facts


def test_a_closed_evaluator_answers_nothing():
    evaluator, facts = _evaluator([{"id": "r", "description": "", "priority": "P1", "when": {"x": 1}}])
    ticket = validate_ticket({"id": "T", "created_at": CREATED, "x": 1}, facts)
    assert evaluator.match(ticket) == ("r",)
    with evaluator:
        assert evaluator.match_uncached(ticket) == ("r",)
    for call in (evaluator.match, evaluator.match_and_review, evaluator.match_uncached):
        with pytest.raises(TriageError, match="closed"):
            call(ticket)
    assert evaluator.stray_actions == 0


RELOADS = textwrap.dedent("""
    import json, sys
    from engine import PolicySet
    tickets = json.loads(sys.argv[1])
    def rss():
        return int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmRSS:"))) / 1024
    def once(close):
        policies = PolicySet.load("policies", git=False)
        for _ in policies.evaluate_many(tickets):
            pass
        if close:
            policies.close()
    once(False)
    start = rss()
    for i in range(30):
        once(i % 2 == 0)
    print(round(rss() - start, 1))
""")


@pytest.mark.slow
def test_thirty_reloads_keep_resident_memory_flat():
    # before the fix each load with evaluations kept about 1.2 MiB: 30 loads grew by ~35 MiB
    result = run_snippet(f"import sys; sys.argv[1:] = [{json.dumps(json.dumps(TICKETS))}]\n" + RELOADS, timeout=120)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.split()[-1]) < 6.0


def test_closing_survives_malloc_perturb():
    # Releasing deletes each state only after the closing rule's action completed in it, so the
    # pointers that delete_state frees are initialised, even in a ruleset where no rule ever fired
    # (test_durable_hazards.py::test_delete_state_frees_uninitialised_pointers is what it avoids).
    facts = {"x": {"type": "integer"}, "y": {"type": "integer"}}
    rules = [{"id": "never", "description": "", "priority": "P1", "when": {"x": {"gt": 5, "lt": 3}}},
             {"id": "y", "description": "", "priority": "P2", "when": {"y": 1}}]
    tickets = [{"id": f"T{i}", "created_at": CREATED, "x": i, "y": i % 2} for i in range(10)]
    with DurableWorker(env={"MALLOC_PERTURB_": "165"}) as perturbed:
        for _ in range(20):  # each request builds two evaluators and closes them
            answer = perturbed.request({"op": "evaluate", "facts": {
                "id": {"type": "string", "required": True}, "created_at": {"type": "datetime", "required": True},
                **facts}, "rules": rules, "tickets": tickets}, timeout=30)
            assert [row["off"] for row in answer["results"]] == [["y"] if i % 2 else [] for i in range(10)]
        assert perturbed.request({"op": "ping"})["pong"]
