"""Fact declarations, the generated ticket schema, ticket validation and normalisation."""
from __future__ import annotations

import timeit
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest

from engine.core.errors import PolicyError, TicketError
from engine.facts.schema import ticket_schema
from engine.facts.validator import ticket_validator, validate_ticket
from engine.facts.values import parse_rfc3339
from engine.facts.vocabulary import Fact, FactSet, check_facts, parse_facts

# The default policy's vocabulary (DESIGN.md), shared by the other test modules.
SPEC = {
    "id": {"type": "string", "required": True, "description": "ticket id"},
    "created_at": {"type": "datetime", "required": True},
    "requester": {"type": "enum", "values": ["business_partner", "private", "installer"]},
    "business_impact": {"type": "enum", "values": ["critical", "high", "medium", "low"]},
    "users_affected": {"type": "integer", "minimum": 0},
    "customers_affected": {"type": "integer", "minimum": 0},
    "service": {"type": "enum", "values": [
        "web_portal", "hub", "app", "servers", "chargers", "charging", "smart_charge", "sponsored_charging", "map",
        "tax_refunds", "wallet", "payments", "account", "exports", "invoices", "reports", "insights", "other"]},
    "extent": {"type": "enum", "values": ["all", "several", "single"]},
    "symptom": {"type": "enum", "values": [
        "down", "degraded", "delayed", "frozen", "error_message", "wrong_data", "visual", "question"]},
    "workaround": {"type": "boolean"},
    "gdpr_breach_suspected": {"type": "enum", "values": ["none", "minor", "major"]},
    "owner_troubleshooting_done": {"type": "boolean"},
    "delay_seconds": {"type": "number", "minimum": 0},
    "location_id": {"type": "string", "max_length": 64, "pattern": "^loc-"},
    "escalated_at": {"type": "datetime"},
    "priority_override": {"type": "override"},
}

GOOD = {
    "id": "T-1", "created_at": "2024-04-02T09:30:00+02:00", "requester": "business_partner",
    "business_impact": "high", "users_affected": 12, "service": "payments", "extent": "several",
    "symptom": "down", "workaround": False, "delay_seconds": 3, "location_id": "loc-aarhus",
}


@pytest.fixture(scope="module")
def facts():
    return parse_facts(SPEC)


def problems_of(spec):
    return [(p.path, p.message) for p in check_facts(spec)]


def with_facts(**extra):
    spec = {k: v for k, v in SPEC.items() if k in ("id", "created_at")}
    spec.update(extra)
    return spec


# --------------------------------------------------------------------------- declarations


def test_default_vocabulary_is_clean():
    assert problems_of(SPEC) == []


@pytest.mark.parametrize("extra, expected", [
    ({"sev": {"type": "enum"}}, [(("sev",), "enum fact 'sev' needs a non-empty 'values' list")]),
    ({"sev": {"type": "enum", "values": []}}, [(("sev", "values"), "'values' must be a non-empty list of strings")]),
    ({"n": {"type": "integer", "values": ["a"]}}, [(("n", "values"), "'values' is only allowed on enum facts")]),
    ({"users_affected": {"type": "integer", "minimum": 10, "maximum": 5}},
     [(("users_affected", "minimum"), "minimum 10 is greater than maximum 5")]),
    ({"e": {"type": "enum", "values": ["a", "b", "a"]}}, [(("e", "values", 2), "duplicate enum value 'a'")]),
    ({"e": {"type": "enum", "values": ["a", 3]}}, [(("e", "values", 1), "enum value must be a string, got integer 3")]),
    ({"s": {"type": "string", "pattern": "(["}},
     [(("s", "pattern"), "invalid regular expression '([': missing ]: [")]),
    ({"n": {"type": "integer", "minimum": 1.5}}, [(("n", "minimum"), "'minimum' must be an integer, got number 1.5")]),
    ({"n": {"type": "number", "maximum": True}},
     [(("n", "maximum"), "'maximum' must be a finite number, got boolean true")]),
    ({"b": {"type": "boolean", "minimum": 0}},
     [(("b", "minimum"), "'minimum' is only allowed on integer and number facts")]),
    ({"n": {"type": "integer", "max_length": 3}}, [(("n", "max_length"), "'max_length' is only allowed on string facts")]),
    ({"s": {"type": "string", "max_length": 0}},
     [(("s", "max_length"), "'max_length' must be a positive integer, got integer 0")]),
    ({"n": {"type": "integer", "pattern": "x"}}, [(("n", "pattern"), "'pattern' is only allowed on string facts")]),
    ({"n": {"type": "int"}},
     [(("n", "type"), "unknown type 'int'; expected one of string, integer, number, boolean, datetime, enum, "
                      "override; did you mean 'integer'?")]),
    ({"n": {"description": "x"}}, [(("n",), "missing 'type'")]),
    ({"n": {"type": "integer", "maximun": 3}}, [(("n", "maximun"), "unknown key 'maximun'; did you mean 'maximum'?")]),
    ({"n": {"type": "integer", "required": "yes"}}, [(("n", "required"), "'required' must be true or false")]),
    ({"Bad-Name": {"type": "integer"}},
     [(("Bad-Name",), "invalid fact name 'Bad-Name': use lowercase letters, digits and underscores, "
                      "starting with a letter")]),
    ({"n": "integer"}, [(("n",), "fact declaration must be a mapping, got string")]),
    ({"not": {"type": "boolean"}}, [(("not",), "'not' cannot be a fact name: all, any and not are condition keywords")]),
])
def test_declaration_problems(extra, expected):
    assert problems_of(with_facts(**extra)) == expected


def test_facts_must_be_a_mapping():
    assert problems_of(["id"]) == [((), "facts must be a mapping of fact name to declaration, got array")]


def test_id_and_created_at_are_required_declarations():
    assert problems_of({"x": {"type": "string"}}) == [
        ((), "the 'id' fact must be declared (a required string)"),
        ((), "the 'created_at' fact must be declared (a required datetime)"),
    ]
    spec = {"id": {"type": "integer"}, "created_at": {"type": "string", "required": True}}
    assert problems_of(spec) == [
        (("id", "type"), "the 'id' fact must have type string"),
        (("id", "required"), "the 'id' fact must be required (required: true)"),
        (("created_at", "type"), "the 'created_at' fact must have type datetime"),
    ]


def test_more_than_100_facts():
    spec = with_facts(**{f"f{i}": {"type": "boolean"} for i in range(99)})
    assert problems_of(spec) == [((), "too many facts (101); at most 100 are supported")]


def test_did_you_mean_is_a_suggestion_field():
    [problem] = check_facts(with_facts(n={"type": "strng"}))
    assert problem.suggestion == "string"


def test_parse_facts(facts):
    assert isinstance(facts, FactSet)
    assert facts["service"].values[:2] == ("web_portal", "hub")
    assert facts["id"] == Fact("id", "string", "ticket id", True, (), None, None, 1000, None)
    assert facts["location_id"].max_length == 64
    assert facts["users_affected"].max_length is None
    with pytest.raises(PolicyError) as info:
        parse_facts(with_facts(e={"type": "enum"}))
    assert info.value.problems[0].path == ("e",)


# --------------------------------------------------------------------------- schema


def test_ticket_schema_is_valid_and_agrees(facts):
    schema = ticket_schema(facts)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["id", "created_at"]
    assert schema["properties"]["users_affected"] == {"type": "integer", "minimum": 0}
    assert schema["properties"]["business_impact"]["enum"] == ["critical", "high", "medium", "low"]
    assert not list(validator.iter_errors(GOOD))
    assert not list(validator.iter_errors({**GOOD, "priority_override": {"priority": "P1", "reason": "VIP"}}))
    for bad in ({**GOOD, "users_affected": -1}, {**GOOD, "business_impact": "hgih"}, {**GOOD, "servcie": "hub"},
                {"id": "T-1"}, {**GOOD, "created_at": "2024-04-02T09:30:00"},
                {**GOOD, "priority_override": {"priority": "P9", "reason": "x"}}):
        assert list(validator.iter_errors(bad)), bad


# --------------------------------------------------------------------------- tickets


def errors_of(ticket, facts):
    with pytest.raises(TicketError) as info:
        validate_ticket(ticket, facts)
    return info.value, [(p.field, p.path, p.message) for p in info.value.problems]


def test_normalisation(facts):
    ticket = validate_ticket({**GOOD, "priority_override": {"reason": "VIP", "priority": "P1"},
                              "escalated_at": "2024-04-02T10:00:00.1234567Z", "users_affected": 12.0}, facts)
    assert ticket["created_at"] == datetime(2024, 4, 2, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    assert ticket["escalated_at"] == datetime(2024, 4, 2, 10, 0, 0, 123456, tzinfo=timezone.utc)
    assert type(ticket["users_affected"]) is int and ticket["users_affected"] == 12
    assert type(ticket["delay_seconds"]) is float and ticket["delay_seconds"] == 3.0
    assert ticket["workaround"] is False
    assert ticket["priority_override"] == {"priority": "P1", "reason": "VIP"}
    assert set(ticket) == set(GOOD) | {"priority_override", "escalated_at"}


def test_aware_datetime_objects_are_accepted(facts):
    when = datetime(2024, 1, 1, 9, tzinfo=timezone.utc)
    assert validate_ticket({"id": "T", "created_at": when}, facts)["created_at"] is when


@pytest.mark.parametrize("field, value, message", [
    ("users_affected", "12", "expected an integer, got string '12'"),
    ("users_affected", True, "expected an integer, got boolean true"),
    ("users_affected", 1.5, "expected an integer, got number 1.5"),
    ("users_affected", -1, "-1 is below the minimum 0"),
    ("delay_seconds", False, "expected a number, got boolean false"),
    ("delay_seconds", float("nan"), "number must be finite, got nan"),
    ("delay_seconds", float("inf"), "number must be finite, got inf"),
    ("delay_seconds", None, "expected a number, got null"),
    ("workaround", "no", "expected true or false, got string 'no'"),
    ("workaround", 0, "expected true or false, got integer 0"),
    ("business_impact", "hgih", "'hgih' is not one of critical, high, medium, low; did you mean 'high'?"),
    ("business_impact", 3, "expected one of critical, high, medium, low, got integer 3"),
    ("location_id", "loc-" + "x" * 70, "string is longer than 64 characters (74)"),
    ("location_id", "aarhus", "string 'aarhus' does not match pattern '^loc-'"),
    ("location_id", ["loc-1"], "expected a string, got array"),
    ("created_at", "2024-04-02T09:30:00",
     "'2024-04-02T09:30:00' has no UTC offset; add 'Z' or ±hh:mm (e.g. 2024-04-02T09:30:00+02:00)"),
    ("created_at", "2024-04-02", "'2024-04-02' is not an RFC 3339 datetime (e.g. 2024-04-02T09:30:00+02:00)"),
    ("created_at", "2024-02-30T09:30:00Z",
     "'2024-02-30T09:30:00Z' is not a valid datetime: day is out of range for month"),
    ("created_at", 1712043000, "expected an RFC 3339 datetime string, got integer 1712043000"),
    ("created_at", datetime(2024, 1, 1), "datetime 2024-01-01T00:00:00 has no UTC offset"),
    ("priority_override", "P1", "expected an object {priority, reason}, got string 'P1'"),
    ("priority_override", {"priority": "p1", "reason": "x"},
     "override priority must be one of P1, P2, P3, P4, got string 'p1'; did you mean 'P1'?"),
    ("priority_override", {"priority": "P1", "reason": " "},
     "override reason must be a non-empty string, got string ' '"),
    ("priority_override", {"priority": "P1"}, "override needs a 'reason'"),
    ("priority_override", {"priority": "P1", "reason": "x", "by": "me"}, "unknown key 'by' in override"),
])
def test_each_error_kind(facts, field, value, message):
    error, found = errors_of({**GOOD, field: value}, facts)
    assert found == [(field, (field,), message)]
    assert error.ticket_id == "T-1"
    assert error.field == field


def test_unknown_field_with_did_you_mean(facts):
    error, found = errors_of({**GOOD, "usres_affected": 3}, facts)
    assert found == [("usres_affected", ("usres_affected",),
                      "unknown field 'usres_affected'; did you mean 'users_affected'?")]
    assert error.problems[0].suggestion == "users_affected"
    _, found = errors_of({**GOOD, "zzz": 1}, facts)
    assert found == [("zzz", ("zzz",), "unknown field 'zzz'")]


def test_every_bad_field_is_reported_at_once(facts):
    error, found = errors_of({"created_at": "yesterday", "users_affected": -3, "business_impact": "urgent",
                              "colour": "red", "workaround": "yes"}, facts)
    assert [f for f, _, _ in found] == ["created_at", "users_affected", "business_impact", "colour", "workaround",
                                        "id"]
    assert found[-1] == ("id", ("id",), "missing required field 'id'")
    assert error.ticket_id is None
    assert str(error).endswith("(and 5 more)")


def test_ticket_id_only_when_usable(facts):
    error, _ = errors_of({"id": 42, "created_at": "2024-01-01T00:00:00Z"}, facts)
    assert error.ticket_id is None
    error, _ = errors_of({"id": "T-9", "users_affected": -1}, facts)
    assert error.ticket_id == "T-9"
    assert str(error).startswith("ticket T-9: users_affected: -1 is below the minimum 0")


def test_not_a_mapping(facts):
    error, found = errors_of(["T-1"], facts)
    assert found == [(None, (), "a ticket must be a JSON object, got array")]


@pytest.mark.parametrize("text, expected", [
    ("2024-04-02T09:30:00Z", datetime(2024, 4, 2, 9, 30, tzinfo=timezone.utc)),
    ("2024-04-02t09:30:00z", datetime(2024, 4, 2, 9, 30, tzinfo=timezone.utc)),
    ("2024-04-02 09:30:00-05:30", datetime(2024, 4, 2, 9, 30, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
    ("2024-04-02T09:30:00.5+01:00", datetime(2024, 4, 2, 9, 30, 0, 500000, tzinfo=timezone(timedelta(hours=1)))),
])
def test_rfc3339(text, expected):
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize("text", ["2024-04-02T09:30Z", "2024-04-02T09:30:00+0200", "20240402T093000Z",
                                  "2024-04-02T09:30:00+02", "2024-04-02T25:30:00Z"])
def test_rfc3339_rejects(text):
    with pytest.raises(ValueError):
        parse_rfc3339(text)


@pytest.mark.parametrize("text, message", [
    ("2024-04-02T09:30:00+24:00", "has UTC offset +24:00, outside -23:59 to +23:59"),
    ("2024-04-02T09:30:00.5-30:00", "has UTC offset -30:00, outside -23:59 to +23:59"),
    ("2024-04-02T09:30:00+01:60", "has UTC offset +01:60, outside -23:59 to +23:59"),  # fromisoformat: +02:00
    ("2024-13-02T09:30:00+01:00", "month must be in 1..12"),
])
def test_rfc3339_messages_speak_the_users_language(text, message):
    """Python's own message for +24:00 was 'offset must be a timedelta strictly between -timedelta(hours=24)...'."""
    with pytest.raises(ValueError) as caught:
        parse_rfc3339(text)
    assert message in str(caught.value) and "timedelta" not in str(caught.value)


def test_plain_dict_of_facts_works_too(facts):
    assert validate_ticket(GOOD, dict(facts))["users_affected"] == 12


def test_validation_is_fast(facts):
    # Budget: well under 10 µs for a typical ticket; 40 µs leaves room for slow CI machines.
    validate = ticket_validator(facts)
    seconds = min(timeit.repeat(lambda: validate(GOOD), number=2000, repeat=3)) / 2000
    assert seconds < 40e-6, f"{seconds * 1e6:.1f} µs per ticket"


def test_a_ticket_with_thousands_of_fields_is_refused_at_once():
    from engine.facts.validator import validate_ticket
    from engine.facts.vocabulary import parse_facts
    from engine.core.errors import TicketError
    facts = parse_facts({"id": {"type": "string", "required": True},
                         "created_at": {"type": "datetime", "required": True}})
    ticket = {"id": "T-1", "created_at": "2024-01-01T00:00:00Z", **{f"junk{i}": i for i in range(50_000)}}
    with pytest.raises(TicketError) as caught:
        validate_ticket(ticket, facts)
    (problem,) = caught.value.problems  # one problem, not a suggestion search per unknown field
    assert problem.message == "a ticket has 50,002 fields; the policy declares 2"
    assert caught.value.ticket_id == "T-1"


# ----------------------------------------------------------------------------- fast path == complete validator
from hypothesis import given, settings, strategies as st  # noqa: E402

from conftest import examples  # noqa: E402

_SHIPPED_FACTS = None


def _shipped_validator():
    global _SHIPPED_FACTS
    if _SHIPPED_FACTS is None:
        import yaml
        from conftest import POLICIES
        from engine.facts.validator import compile_ticket_validator
        from engine.facts.vocabulary import parse_facts
        spec = yaml.safe_load((POLICIES / "triage.yaml").read_text())["spec"]["facts"]
        _SHIPPED_FACTS = compile_ticket_validator(parse_facts(spec))
    return _SHIPPED_FACTS


_VALUES = {
    "id": st.one_of(st.just("T-1"), st.text(max_size=5), st.just("x" * 201), st.integers()),
    "created_at": st.sampled_from(["2024-03-27T16:00:00+01:00", "2024-03-27T16:00:00Z", "2024-03-27t16:00:00.5+01:00",
                                   "2024-03-27T16:00:00", "2024-02-30T10:00:00+01:00", "2024-03-27T16:00:00+0100",
                                   "2024-03-27T16:00:00+01:00x", 20240327]),
    "service": st.sampled_from(["app", "hub", "portal", 3, None, "APP"]),
    "symptom": st.sampled_from(["down", "question", "Down", ""]),
    "workaround": st.sampled_from([True, False, 0, 1, "false", None]),
    "customers_affected": st.one_of(st.integers(-3, 10 ** 20), st.sampled_from([2.0, 2.5, True, "3", float("nan")])),
    "delay_seconds": st.one_of(st.integers(-5, 2 ** 60), st.floats(allow_nan=True, allow_infinity=True),
                               st.sampled_from([True, "10"])),
    "escalated_at": st.sampled_from(["2024-03-28T09:00:00+01:00", "bad", None]),
    "priority_override": st.sampled_from([{"priority": "P1", "reason": "x"}, {"priority": "P9", "reason": "x"},
                                          {"priority": "P2"}, "P1"]),
    "sevrity": st.just("high"),
}


@pytest.mark.slow
@settings(max_examples=examples(1500), deadline=None)
@given(st.fixed_dictionaries({}, optional=_VALUES))
def test_fast_validator_agrees_with_the_complete_one(ticket):
    from engine.core.errors import TicketError
    validate = _shipped_validator()

    def outcome(fn):
        try:
            out = fn(ticket)
            return ("ok", list(out.items()), [type(v) for v in out.values()])
        except TicketError as exc:
            return ("error", [str(p) for p in exc.problems], exc.ticket_id)

    assert outcome(validate) == outcome(validate.slow)
