"""Compilation into the vetted durable-rules subset: NNF, coding, DNF bounds, chunking, build_rules."""
from __future__ import annotations

import json

import pytest

import oracle
from _watchdog import DurableWorker
from engine.rules.compiler import (MAX_FIELDS_PER_FACT, MAX_RULES_PER_RULESET, RuleDef, build_rules, compile_rules,
                              condition_size)
from engine.rules.conditions import parse_condition
from engine.core.errors import PolicyError
from engine.facts.validator import validate_ticket
from engine.facts.vocabulary import parse_facts

from test_facts import SPEC

FACTS = parse_facts({**SPEC, "title": {"type": "string"}})
TYPES = {name: fact.type for name, fact in FACTS.items()}


def rule(when, rid="r", priority="P3"):
    return {"id": rid, "description": "d", "priority": priority, "when": when}


def compile_whens(*whens):
    rules, found = build_rules([rule(w, f"r{i}") for i, w in enumerate(whens)], FACTS)
    assert found == []
    return compile_rules(rules)


def terms(compiled):
    """(rule position, condition JSON) for every durable rule, in ruleset order."""
    out = []
    for spec in compiled.rulesets:
        definition = json.loads(spec.definition)
        for name in sorted(definition, key=lambda n: int(n[1:])):
            out.append((int(definition[name]["run"]), definition[name]["all"][0]["m"]))
    return out


# --------------------------------------------------------------------------- the compiled form


def test_rank_coding_and_negation_normal_form():
    c = compile_whens({"users_affected": {"gt": 10}}, {"not": {"users_affected": {"gt": 10}}},
                      {"users_affected": 5}, {"not": {"users_affected": {"in": [5, 10]}}})
    assert c.slots[0].table == (5, 10)  # codes: <5:0, =5:1, (5,10):2, =10:3, >10:4
    assert terms(c) == [(0, {"$gt": {"v0": 3}}), (1, {"$lte": {"v0": 3}}), (2, {"v0": 1}), (3, {"s0": 0})]


def test_literal_coding():
    c = compile_whens({"service": "hub"}, {"service": {"ne": "app"}}, {"not": {"service": {"in": ["hub"]}}},
                      {"workaround": False})
    assert [s.table for s in c.slots] == [("app", "hub"), (False,)]
    assert terms(c) == [(0, {"v0": 1}), (1, {"$neq": {"v0": 0}}), (2, {"$neq": {"v0": 1}}), (3, {"v1": 0})]


def test_exists_and_matches_use_synthetic_fields():
    c = compile_whens({"escalated_at": {"exists": False}}, {"not": {"escalated_at": {"exists": False}}},
                      {"title": {"matches": "^x"}}, {"not": {"title": {"matches": "^x"}}})
    assert terms(c) == [(0, {"h0": 0}), (1, {"h0": 1}), (2, {"m0": 1}), (3, {"m0": 0})]


def test_dnf_alternatives_become_separate_durable_rules():
    c = compile_whens({"all": [{"any": [{"service": "hub"}, {"service": "app"}]},
                               {"any": [{"extent": "all"}, {"not": {"workaround": True}}]}]})
    found = terms(c)
    assert len(found) == 4 and {p for p, _ in found} == {0}
    assert all(set(m) == {"$and"} and len(m["$and"]) == 2 for _, m in found)


def _walk(node, depth=0):
    """Yield (key, value, depth) over a durable condition."""
    for key, value in node.items():
        yield key, value, depth
        if key == "$and":
            for item in value:
                yield from _walk(item, depth + 1)
        elif isinstance(value, dict):
            for k2, v2 in value.items():
                yield k2, v2, depth + 1


def test_only_the_vetted_subset_is_emitted():
    c = compile_whens(
        {"all": [{"service": {"in": ["hub", "app", "servers"]}}, {"symptom": "down"}, {"extent": "all"},
                 {"workaround": False}]},
        {"any": [{"not": {"business_impact": {"in": ["high", "critical"]}}}, {"delay_seconds": {"gte": 10.5}},
                 {"created_at": {"lt": "2024-01-01T00:00:00Z"}}, {"priority_override": {"exists": True}},
                 {"title": {"matches": "é"}}, {"not": {"users_affected": {"ne": 0}}}]})
    for spec in c.rulesets:
        for durable_rule in json.loads(spec.definition).values():
            assert set(durable_rule) == {"all", "run"} and len(durable_rule["all"]) == 1
            assert set(durable_rule["all"][0]) == {"m"}
            for key, value, depth in _walk(durable_rule["all"][0]["m"]):
                assert key in ("$and", "$neq", "$gt", "$gte", "$lt", "$lte") or not key.startswith("$")
                if key == "$and":
                    assert depth == 0, "no nested $and"
                elif not key.startswith("$"):
                    assert type(value) is int and 0 <= value < 1000, (key, value)


def test_condition_size_bounds():
    cond, _ = parse_condition({"not": {"all": [{"any": [{"service": "hub"}, {"extent": "all"}]},
                                               {"any": [{"symptom": "down"}, {"workaround": True}]}]}}, FACTS)
    assert condition_size(cond) == (2, 2)  # any(all(¬hub, ¬all), all(¬down, ¬workaround))
    cond, _ = parse_condition({"all": [{"any": [{"service": "hub"}, {"extent": "all"}]},
                                       {"any": [{"symptom": "down"}, {"workaround": True}, {"users_affected": 1}]}]},
                              FACTS)
    assert condition_size(cond) == (6, 2)


def test_too_complex_condition_is_a_problem_not_a_hang():
    blowup = {"all": [{"any": [{"users_affected": i}, {"customers_affected": i}]} for i in range(7)]}  # 2**7 terms
    rules, found = build_rules([rule({"service": "hub"}, "ok"), rule(blowup, "big")], FACTS)
    assert [r.id for r in rules] == ["ok"]
    assert [(p.path, p.message, p.rule_id) for p in found] == [
        ((1, "when"), "condition is too complex to compile: it expands to 128 alternatives (at most 64); "
                      "split it into several rules or simplify nested any/not", "big")]
    wide = {"all": [{"users_affected": {"ne": i}} for i in range(65)]}
    _, found = build_rules([rule(wide)], FACTS)
    assert [p.message for p in found] == [
        "condition is too complex to compile: one alternative needs 65 tests (at most 64); split it into several rules"]
    cond, _ = parse_condition(blowup, FACTS)
    with pytest.raises(PolicyError) as info:
        compile_rules([RuleDef("big", "", "P1", cond, 4)])
    assert info.value.problems[0].path == (4, "when")


def test_rulesets_are_chunked_by_rule_count():
    c = compile_whens(*({"users_affected": i} for i in range(250)))
    assert [len(json.loads(s.definition)) for s in c.rulesets] == [60, 60, 60, 60, 10]
    assert {p for s in c.rulesets for p in s.rule_positions} == set(range(250))


def test_rulesets_are_chunked_by_field_count():
    spec = {"id": SPEC["id"], "created_at": SPEC["created_at"]}
    spec.update({f"f{i}": {"type": "enum", "values": ["a", "b", "c"]} for i in range(98)})
    facts = parse_facts(spec)
    whens = [{"any": [{f"f{i}": {"in": ["a", "b"]}}, {f"f{i}": {"exists": False}}, {f"f{i}": "c"}]}
             for i in range(98)]
    rules, found = build_rules([rule(w, f"r{i}") for i, w in enumerate(whens)], facts)
    assert found == []
    c = compile_rules(rules)
    assert len(c.rulesets) >= 2
    for spec_ in c.rulesets:
        assert len(spec_.fields) <= MAX_FIELDS_PER_FACT
        assert len(json.loads(spec_.definition)) <= MAX_RULES_PER_RULESET


def test_signature_boundaries():
    c = compile_whens({"delay_seconds": {"gt": 10}}, {"delay_seconds": {"lte": 2.5}})
    sig = c.signature_function()
    codes = [sig(validate_ticket({"id": "T", "created_at": "2024-01-01T00:00:00Z", "delay_seconds": d}, FACTS))[0]
             for d in (0, 2.5, 3, 10, 10.0000001)]
    assert codes == [0, 1, 2, 3, 4]
    assert sig({"id": "T"}) == (None,)


# --------------------------------------------------------------------------- build_rules


def test_build_rules_problems():
    rules_yaml = [
        rule({"service": "hub"}, "a"),
        rule({"service": "hub"}, "a"),
        {"id": "b", "priority": "p1", "when": {"sevrice": "hub"}, "descripton": "x"},
        {"id": "", "description": 3, "priority": "P2", "when": {"service": "hub"}},
        "not a rule",
        rule({"all": [{"service": "hub"}, {"users_affected": {"gte": "x"}}]}, "c"),
    ]
    rules, found = build_rules(rules_yaml, FACTS)
    assert [r.id for r in rules] == ["a"]
    assert rules[0].index == 0 and rules[0].priority == "P3"
    assert [(p.path, p.message) for p in found] == [
        ((1, "id"), "duplicate rule id 'a' (first used by rules[0])"),
        ((2, "descripton"), "unknown key 'descripton'; did you mean 'description'?"),
        ((2,), "rule is missing 'description'"),
        ((2, "priority"), "priority must be one of P1, P2, P3, P4, got string 'p1'; did you mean 'P1'?"),
        ((2, "when", "sevrice"), "unknown fact 'sevrice'; did you mean 'service'?"),
        ((3, "id"), "rule id must be a non-empty string without surrounding spaces (at most 200 characters), "
                    "got string ''"),
        ((3, "description"), "description must be a string, got integer 3"),
        ((4,), "a rule must be a mapping with id, description, priority, when, got string"),
        ((5, "when", "all", 1, "users_affected", "gte"),
         "'gte' on integer fact 'users_affected' needs an integer, got string 'x'"),
    ]
    assert found[0].rule_id == "a" and found[4].rule_id == "b"
    rules, found = build_rules({"a": 1}, FACTS)
    assert rules == [] and [(p.path, p.message) for p in found] == [((), "rules must be a list, got object")]


# --------------------------------------------------------------------------- evaluated by durable-rules


def test_chunked_policy_evaluates_like_the_oracle():
    rules_yaml = [rule({"users_affected": {"gte": i}} if i % 3 else {"not": {"users_affected": {"lt": i}}}, f"r{i}")
                  for i in range(250)]
    tickets = [{"id": f"T{n}", "created_at": "2024-01-01T00:00:00Z", "users_affected": n} for n in (0, 1, 99, 100, 249)]
    tickets.append({"id": "T-none", "created_at": "2024-01-01T00:00:00Z"})
    with DurableWorker() as worker:
        answer = worker.request({"op": "evaluate", "facts": {**SPEC, "title": {"type": "string"}},
                                 "rules": rules_yaml, "tickets": tickets}, timeout=60)
    assert answer["rulesets"] == 5
    for raw, row in zip(tickets, answer["results"]):
        expected = oracle.matched(rules_yaml, raw, TYPES)
        assert row["off"] == row["on"] == row["on_again"] == expected
    assert answer["stray"] == 0
