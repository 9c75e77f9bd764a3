"""The condition language: parsing, type checking (exact paths and messages), semantics, reads()."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.rules.conditions import AllOf, AnyOf, Leaf, Not, evaluate, parse_condition, reads
from engine.facts.validator import validate_ticket
from engine.facts.vocabulary import parse_facts

from test_facts import SPEC

FACTS = parse_facts({**SPEC, "title": {"type": "string"}})
UTC = timezone.utc


def problems(when):
    cond, found = parse_condition(when, FACTS)
    assert cond is None
    return [(p.path, p.message) for p in found]


def parse(when):
    cond, found = parse_condition(when, FACTS)
    assert found == []
    return cond


# --------------------------------------------------------------------------- parsing


def test_shapes():
    assert parse({"service": "hub"}) == Leaf("service", "enum", "eq", "hub")
    assert parse({"users_affected": {"gte": 10, "lt": 100}}) == AllOf((
        Leaf("users_affected", "integer", "gte", 10), Leaf("users_affected", "integer", "lt", 100)))
    assert parse({"service": "hub", "workaround": False}) == AllOf((
        Leaf("service", "enum", "eq", "hub"), Leaf("workaround", "boolean", "eq", False)))
    assert parse({"any": [{"not": {"symptom": "down"}}, {"service": {"in": ["hub", "app", "hub"]}}]}) == AnyOf((
        Not(Leaf("symptom", "enum", "eq", "down")), Leaf("service", "enum", "in", ("hub", "app"))))
    assert parse({"created_at": {"gte": "2024-01-01T01:00:00+01:00"}}) == Leaf(
        "created_at", "datetime", "gte", datetime(2024, 1, 1, tzinfo=UTC))
    assert parse({"priority_override": {"exists": True}}) == Leaf("priority_override", "override", "exists", True)


def test_ast_is_hashable_and_immutable():
    cond = parse({"all": [{"service": {"in": ["hub", "app"]}}, {"not": {"users_affected": {"gt": 3}}}]})
    assert hash(cond) == hash(parse({"all": [{"service": {"in": ["hub", "app"]}},
                                             {"not": {"users_affected": {"gt": 3}}}]}))
    with pytest.raises(AttributeError):
        cond.items = ()


def test_yaml_datetime_objects_are_accepted():
    when = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse({"created_at": {"lt": when}}) == Leaf("created_at", "datetime", "lt", when)


@pytest.mark.parametrize("when, expected", [
    (["service"], [((), "a condition must be a mapping, got array")]),
    ({}, [((), "empty condition: use all, any, not or a fact test")]),
    ({"all": []}, [(("all",), "'all' takes a non-empty list of conditions, got an empty list")]),
    ({"any": {"service": "hub"}}, [(("any",), "'any' takes a non-empty list of conditions, got object")]),
    ({"all": [{"service": "hub"}], "any": [{"service": "hub"}]},
     [((), "use exactly one of all/any/not per mapping (found all, any); wrap them in all: [...]")]),
    ({"all": [{"service": "hub"}], "symptom": "down"},
     [((), "a condition mapping holds either one of all/any/not or fact tests, not both (found all and symptom); "
           "wrap them in all: [...]")]),
    ({"not": "hub"}, [(("not",), "a condition must be a mapping, got string")]),
    ({"sevrice": "hub"}, [(("sevrice",), "unknown fact 'sevrice'; did you mean 'service'?")]),
    ({"all": [{"service": "hub"}, {"users_affected": {"gtt": 3}}]},
     [(("all", 1, "users_affected", "gtt"), "unknown operator 'gtt'; did you mean 'gt'?")]),
    ({"all": [{"service": "hub"}, {"business_impact": {"gte": "high"}}]},
     [(("all", 1, "business_impact", "gte"),
       "operator 'gte' is not valid for enum fact 'business_impact' (valid: eq, ne, in, not_in, exists)")]),
    ({"delay_seconds": {"matches": "1.*"}},
     [(("delay_seconds", "matches"), "operator 'matches' is not valid for number fact 'delay_seconds' "
                                     "(valid: eq, ne, in, not_in, gt, gte, lt, lte, exists)")]),
    ({"priority_override": {"eq": "P1"}},
     [(("priority_override", "eq"), "operator 'eq' is not valid for override fact 'priority_override' "
                                    "(valid: exists)")]),
    ({"priority_override": "P1"},
     [(("priority_override",), "operator 'eq' is not valid for override fact 'priority_override' (valid: exists)")]),
    ({"created_at": "2024-01-01T00:00:00Z"},
     [(("created_at",), "operator 'eq' is not valid for datetime fact 'created_at' "
                        "(valid: gt, gte, lt, lte, exists)")]),
    ({"workaround": {"in": [True]}},
     [(("workaround", "in"), "operator 'in' is not valid for boolean fact 'workaround' (valid: eq, ne, exists)")]),
    ({"any": [{"all": [{"service": "hub"}, {"users_affected": {"gte": "10"}}]}]},
     [(("any", 0, "all", 1, "users_affected", "gte"),
       "'gte' on integer fact 'users_affected' needs an integer, got string '10'")]),
    ({"users_affected": {"gte": 2.5}},
     [(("users_affected", "gte"), "'gte' on integer fact 'users_affected' needs an integer, got number 2.5")]),
    ({"users_affected": True},
     [(("users_affected",), "'eq' on integer fact 'users_affected' needs an integer, got boolean true")]),
    ({"delay_seconds": {"gt": float("nan")}},
     [(("delay_seconds", "gt"), "'gt' on number fact 'delay_seconds' needs a finite number, got nan")]),
    ({"workaround": "no"}, [(("workaround",), "'eq' on boolean fact 'workaround' needs true or false, "
                                              "got string 'no'")]),
    ({"title": {"eq": 3}}, [(("title", "eq"), "'eq' on string fact 'title' needs a string, got integer 3")]),
    ({"business_impact": "hgih"},
     [(("business_impact",), "'hgih' is not a value of enum fact 'business_impact' (critical, high, medium, low); "
                             "did you mean 'high'?")]),
    ({"service": {"in": ["hub", "hubb", 3]}},
     [(("service", "in", 1), "'hubb' is not a value of enum fact 'service' (web_portal, hub, app, servers, chargers, "
                             "charging, smart_charge, sponsored_charging, map, tax_refunds, wallet, payments, account, "
                             "exports, invoices, reports, insights, other); did you mean 'hub'?"),
      (("service", "in", 2), "'in' on enum fact 'service' needs one of web_portal, hub, app, servers, chargers, "
                             "charging, smart_charge, sponsored_charging, map, tax_refunds, wallet, payments, account, "
                             "exports, invoices, reports, insights, other, got integer 3")]),
    ({"service": {"in": []}}, [(("service", "in"), "'in' needs a non-empty list of values, got an empty list")]),
    ({"service": {"not_in": "hub"}}, [(("service", "not_in"), "'not_in' needs a non-empty list of values, "
                                                              "got string 'hub'")]),
    ({"users_affected": {"in": list(range(201))}}, [(("users_affected", "in"), "'in' takes at most 200 values, got 201")]),
    ({"service": {"exists": "yes"}}, [(("service", "exists"), "'exists' takes true or false, got string 'yes'")]),
    ({"title": {"matches": "(["}},
     [(("title", "matches"), "invalid regular expression '([': missing ]: [")]),
    ({"title": {"matches": 3}}, [(("title", "matches"), "'matches' needs a regular expression string, got integer 3")]),
    ({"created_at": {"gt": "2024-01-01T00:00:00"}},
     [(("created_at", "gt"), "'gt' on datetime fact 'created_at': '2024-01-01T00:00:00' has no UTC offset; "
                             "add 'Z' or ±hh:mm (e.g. 2024-04-02T09:30:00+02:00)")]),
    ({"created_at": {"gt": datetime(2024, 1, 1)}},
     [(("created_at", "gt"), "'gt' on datetime fact 'created_at' needs a datetime with a UTC offset, "
                             "got 2024-01-01T00:00:00")]),
    ({"created_at": {"gt": 1704067200}},
     [(("created_at", "gt"), "'gt' on datetime fact 'created_at' needs an RFC 3339 datetime with offset, "
                             "got integer 1704067200")]),
    ({"service": ["hub", "app"]}, [(("service",), "a list is not a value of 'service'; use {in: [...]}")]),
    ({"service": None}, [(("service",), "null is not a value of 'service'; test a missing fact with "
                                        "{exists: false}")]),
    ({"service": {}}, [(("service",), "no operator given for 'service'; use one of eq, ne, in, not_in, exists")]),
])
def test_type_check_problems(when, expected):
    assert problems(when) == expected


def test_every_problem_is_reported():
    found = problems({"all": [{"sevrice": "hub"}, {"users_affected": {"gte": "x"}}, {"not": {"symptom": "dwon"}}]})
    assert [path for path, _ in found] == [("all", 0, "sevrice"), ("all", 1, "users_affected", "gte"),
                                           ("all", 2, "not", "symptom")]
    assert parse_condition({"sevrice": "hub"}, FACTS)[1][0].suggestion == "service"


def test_nesting_depth_limit():
    when = {"service": "hub"}
    for _ in range(31):
        when = {"not": when}
    parse(when)  # 32 levels
    found = problems({"not": when})
    assert found == [(("not",) * 32, "condition is nested deeper than 32 levels")]


# --------------------------------------------------------------------------- semantics


def ticket(**fields):
    return validate_ticket({"id": "T", "created_at": "2024-01-01T00:00:00Z", **fields}, FACTS)


def value(when, **fields):
    return evaluate(parse(when), ticket(**fields))


@pytest.mark.parametrize("when, fields, expected", [
    ({"service": "hub"}, {}, None),
    ({"service": "hub"}, {"service": "hub"}, True),
    ({"service": {"ne": "hub"}}, {}, None),
    ({"not": {"service": "hub"}}, {}, None),
    ({"not": {"service": "hub"}}, {"service": "app"}, True),
    ({"service": {"exists": True}}, {}, False),
    ({"service": {"exists": False}}, {}, True),
    ({"not": {"service": {"exists": True}}}, {}, True),
    ({"all": [{"service": "hub"}, {"users_affected": {"gt": 3}}]}, {"service": "app"}, False),
    ({"all": [{"service": "hub"}, {"users_affected": {"gt": 3}}]}, {"service": "hub"}, None),
    ({"any": [{"service": "hub"}, {"users_affected": {"gt": 3}}]}, {"users_affected": 4}, True),
    ({"any": [{"service": "hub"}, {"users_affected": {"gt": 3}}]}, {"users_affected": 3}, None),
    ({"any": [{"service": "hub"}, {"users_affected": {"gt": 3}}]}, {"users_affected": 3, "service": "app"}, False),
    ({"not": {"any": [{"service": "hub"}, {"users_affected": {"gt": 3}}]}}, {"users_affected": 3}, None),
    ({"users_affected": {"gte": 10}}, {"users_affected": 10}, True),
    ({"delay_seconds": {"gt": 10}}, {"delay_seconds": 10.0}, False),
    ({"delay_seconds": 10}, {"delay_seconds": 10.0}, True),
    ({"delay_seconds": {"not_in": [1, 2.5]}}, {"delay_seconds": 2.5}, False),
    ({"created_at": {"gte": "2024-01-01T01:00:00+01:00"}}, {}, True),
    ({"created_at": {"gt": "2024-01-01T01:00:00+01:00"}}, {}, False),
    ({"title": {"matches": "down"}}, {"title": "portal down again"}, True),
    ({"title": {"matches": "^down$"}}, {"title": "portal down again"}, False),
    ({"not": {"title": {"matches": "x"}}}, {}, None),
    ({"priority_override": {"exists": True}}, {"priority_override": {"priority": "P1", "reason": "r"}}, True),
])
def test_kleene_semantics(when, fields, expected):
    assert value(when, **fields) is expected


def test_reads():
    cond = parse({"all": [{"users_affected": {"gte": 10, "lt": 100}}, {"users_affected": {"in": [5, 10]}},
                          {"service": {"in": ["hub", "app"]}}, {"title": {"matches": "x"}},
                          {"not": {"escalated_at": {"exists": True}}},
                          {"created_at": {"gt": "2024-01-01T00:00:00Z"}}]})
    info = reads(cond)
    assert info.facts == {"users_affected", "service", "title", "escalated_at", "created_at"}
    assert info.thresholds == {"users_affected": (5, 10, 100), "created_at": (datetime(2024, 1, 1, tzinfo=UTC),)}
    assert info.literals == {"service": ("app", "hub")}
    assert info.patterns == {"title": ("x",)}
    assert info.exists == {"escalated_at"}


def test_datetime_thresholds_compare_as_instants():
    info = reads(parse({"any": [{"created_at": {"gt": "2024-01-01T01:00:00+01:00"}},
                                {"created_at": {"lt": "2024-01-01T00:00:00Z"}}]}))
    assert len(info.thresholds["created_at"]) == 1
    assert info.thresholds["created_at"][0] - datetime(2024, 1, 1, tzinfo=UTC) == timedelta(0)
