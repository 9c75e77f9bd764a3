"""Rules are grouped by the facts they read, and each group is memoised on its own inputs."""
import json

from engine import PolicySet
from engine.rules.compiler import MAX_GROUP_INPUTS, _cardinality
from conftest import POLICIES

CREATED = "2024-03-27T16:00:00+01:00"


def _evaluator():
    policies = PolicySet.load(POLICIES)
    triage = policies._compiled.triage_versions[-1]
    return policies, triage.evaluator


def test_shipped_rules_are_grouped_into_small_input_domains():
    _, evaluator = _evaluator()
    compiled = evaluator.compiled
    assert len(compiled.rulesets) > 1
    positions = {p for r in compiled.rulesets for p in r.rule_positions}
    assert positions == set(range(len(compiled.rules)))  # every rule's alternatives are in some ruleset
    alternatives = sum(len(json.loads(r.definition)) for r in compiled.rulesets)
    assert alternatives == sum(len(terms) for terms in compiled.terms)  # each alternative exactly once
    for ruleset in compiled.rulesets:
        size = 1
        for i in ruleset.key:
            size *= _cardinality(compiled.slots[i])
        assert size <= MAX_GROUP_INPUTS


def test_a_ticket_new_only_to_one_group_asks_durable_for_that_group_only():
    policies, evaluator = _evaluator()
    base = {"id": "A", "created_at": CREATED, "service": "charging", "symptom": "down", "customers_affected": 3,
            "workaround": False, "gdpr_breach_suspected": "none"}
    first = policies.evaluate(base)
    calls = evaluator.durable_calls
    memo_sizes = [len(m) for m in evaluator._core.memos.rulesets]
    # gdpr is read by one group only: the other groups answer from their memos
    second = policies.evaluate({**base, "id": "B", "gdpr_breach_suspected": "minor"})
    assert evaluator.durable_calls == calls + 1
    grown = [len(m) - n for m, n in zip(evaluator._core.memos.rulesets, memo_sizes)]
    assert sorted(grown) == [0] * (len(grown) - 1) + [1]
    assert first.matched_rules == ("core-feature-down",)
    assert second.matched_rules == ("core-feature-down", "gdpr-minor")
    # and the same ticket again is answered by the signature memo
    policies.evaluate({**base, "id": "C", "gdpr_breach_suspected": "minor"})
    assert evaluator.durable_calls == calls + 1


def test_a_rule_split_across_rulesets_is_remembered_by_each():
    """Regression: the alternatives of one rule (the three signs of "several customers") may sit in
    different rulesets.  Each ruleset's memo must keep what it fired itself, even when another ruleset
    fired the same rule in the same call; otherwise a later ticket matching only one alternative lost it."""
    import itertools
    combos = list(itertools.product([3, 1, None], [3, 1, None], ["all", "several", "single", None]))
    tickets = [{"id": "T", "created_at": CREATED, "symptom": "error_message",
                **{k: v for k, v in zip(("customers_affected", "users_affected", "extent"), combo) if v is not None}}
               for combo in combos]
    for order in (tickets, tickets[::-1]):
        policies, evaluator = _evaluator()  # fresh memos for each order
        compiled = evaluator.compiled
        position = [r.id for r in compiled.rules].index("unhelpful-error-messages")
        assert len([r for r in compiled.rulesets if position in r.rule_positions]) > 1  # the case at hand
        validate = policies._compiled.triage_versions[-1].validate_ticket
        for ticket in order:
            normalised = validate(ticket)
            assert evaluator.match(normalised) == evaluator.match_uncached(normalised), ticket


def test_values_no_test_of_a_ruleset_tells_apart_share_its_memo_entry():
    """Two services that every ruleset treats alike (no rule names one without the other) are one
    class: the second ticket is answered from the memos, with the same decision."""
    policies, evaluator = _evaluator()
    compiled = evaluator.compiled
    slot = [s.fact for s in compiled.slots].index("service")
    maps = [r.classes[r.key.index(slot)] for r in compiled.rulesets if slot in r.key]
    maps = [m for m in maps if m is not None]
    assert maps  # some ruleset reads services it does not tell apart
    values = compiled.slots[slot].table
    alike = [(a, b) for a in range(len(values)) for b in range(a + 1, len(values))
             if all(m[a] == m[b] for m in maps)]
    assert alike
    a, b = alike[0]
    ticket = {"id": "A", "created_at": CREATED, "service": values[a], "symptom": "down", "workaround": False}
    first = policies.evaluate(ticket)
    calls = evaluator.durable_calls
    second = policies.evaluate({**ticket, "id": "B", "service": values[b]})
    assert evaluator.durable_calls == calls
    assert (second.priority, second.matched_rules, second.review) == (first.priority, first.matched_rules, first.review)
    assert evaluator.match_uncached(policies._compiled.triage_versions[-1].validate_ticket(
        {**ticket, "service": values[b]})) == second.matched_rules
