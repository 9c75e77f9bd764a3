"""Evaluating tickets with the shipped policy: priorities, due dates, overrides, operator SLAs."""
import json
import threading

import pytest

from engine import Decision, PolicySet, TicketError
from conftest import EXAMPLES, POLICIES

CREATED = "2024-03-27T16:00:00+01:00"  # Wednesday before Easter 2024


@pytest.fixture(scope="module")
def policies():
    return PolicySet.load(POLICIES)


def _seed_cases(policies):
    (doc,) = [d for d in policies.documents if d.kind == "PolicyTest" and d.name == "seed-scenarios"]
    return doc.spec["cases"]


def test_every_example_ticket_is_a_policy_test_case(policies):
    examples = [json.loads(line) for line in (EXAMPLES / "tickets.jsonl").read_text().splitlines()]
    cases = _seed_cases(policies)
    (fidelity,) = [d for d in policies.documents if d.kind == "PolicyTest" and d.name == "triage-fidelity"]
    assert [c["ticket"] for c in [*cases, *fidelity.spec["cases"]]] == examples
    # every sample scenario of the seed's four priority sections is represented
    assert {c["expect"]["priority"] for c in cases} == {"P1", "P2", "P3", "P4"}
    assert len(cases) == 37


@pytest.mark.parametrize("index", range(37))
def test_seed_scenario_gets_its_priority(policies, index):
    case = _seed_cases(policies)[index]
    decision = policies.evaluate(case["ticket"])
    assert decision.priority == case["expect"]["priority"], case["description"]
    assert decision.decided_by == case["expect"]["decided_by"]
    assert case["description"].startswith(decision.priority + ":")


def test_p2_due_dates_across_easter(policies):
    decision = policies.evaluate({"id": "T-1", "created_at": CREATED, "service": "charging", "symptom": "down",
                                  "customers_affected": 3, "workaround": False})
    assert decision.priority == "P2"
    assert decision.response_due.isoformat() == "2024-04-02T12:00:00+02:00"
    assert decision.resolution_due.isoformat() == "2024-04-08T16:00:00+02:00"
    assert decision.calendar == "partner-support"


def test_decision_format_matches_the_design(policies):
    record = policies.evaluate({"id": "T-1", "created_at": CREATED, "service": "map", "symptom": "down",
                                "customers_affected": 2, "workaround": False}).to_dict()
    assert list(record) == ["ticket_id", "priority", "rules_priority", "decided_by", "matched_rules", "override",
                            "calendar", "response_due", "resolution_due", "targets", "route", "review",
                            "operator_sla", "policy"]
    assert record["policy"]["digest"].startswith("sha256:") and len(record["policy"]["digest"]) == 71
    assert record["policy"]["documents"] == ["TriagePolicy/partner-support", "PriorityTargets/partner-support",
                                             "BusinessCalendar/partner-support"]
    assert record["operator_sla"] is None
    json.dumps(record)


def test_every_decision_field_holds_what_its_name_says(policies):
    """The evaluator builds the Decision tuple positionally: each field is checked by name."""
    ticket = {"id": "T-F", "created_at": CREATED, "symptom": "question", "location_id": "loc-suburb-12",
              "priority_override": {"priority": "P2", "reason": "key account"}}
    d = policies.evaluate(ticket)
    assert d.ticket_id == "T-F"
    assert (d.priority, d.rules_priority, d.decided_by) == ("P2", "P4", "general-question")
    assert d.matched_rules == ("general-question",)
    assert dict(d.override) == {"priority": "P2", "reason": "key account"}
    assert d.calendar == "partner-support" and d.business_calendar is policies.calendar("partner-support")
    assert d.created_at.isoformat() == CREATED
    assert (d.response_due.isoformat(), d.resolution_due.isoformat()) == (
        "2024-04-02T12:00:00+02:00", "2024-04-08T16:00:00+02:00")
    assert (d.response_target, d.resolution_target) == ("4 business_hours", "5 business_days")
    assert d.operator_sla.location_id == "loc-suburb-12"
    assert d.policy["documents"][:3] == ("TriagePolicy/partner-support", "PriorityTargets/partner-support",
                                         "BusinessCalendar/partner-support")
    assert len(d) == len(Decision._fields)


def test_every_matching_rule_is_reported_and_the_highest_decides(policies):
    decision = policies.evaluate({"id": "T-2", "created_at": CREATED, "symptom": "error_message",
                                  "customers_affected": 1, "gdpr_breach_suspected": "minor"})
    assert decision.matched_rules == ("gdpr-minor", "isolated-error-message", "single-customer-unexpected-behaviour")
    assert (decision.priority, decision.decided_by) == ("P2", "gdpr-minor")


def test_missing_fact_never_matches(policies):
    # workaround unknown: the P1 outage rule needs workaround == false, so it does not match
    decision = policies.evaluate({"id": "T-3", "created_at": CREATED, "service": "app", "extent": "all",
                                  "symptom": "down"})
    assert decision.matched_rules == ()
    assert (decision.priority, decision.decided_by) == ("P4", None)


def test_override_keeps_rules_priority_and_recomputes_due_dates(policies):
    ticket = {"id": "T-4", "created_at": CREATED, "symptom": "question",
              "priority_override": {"priority": "P1", "reason": "customer escalated to the CEO"}}
    decision = policies.evaluate(ticket)
    assert (decision.priority, decision.rules_priority, decision.decided_by) == ("P1", "P4", "general-question")
    assert dict(decision.override) == {"priority": "P1", "reason": "customer escalated to the CEO"}
    # P1 targets (2 and 4 business hours), counted from created_at
    assert decision.response_due.isoformat() == "2024-04-02T10:00:00+02:00"
    assert decision.resolution_due.isoformat() == "2024-04-02T12:00:00+02:00"
    assert decision.to_dict()["override"] == {"priority": "P1", "reason": "customer escalated to the CEO"}


@pytest.mark.parametrize("ticket, field, message", [
    ({"id": "T", "created_at": "2024-03-27T16:00:00"}, "created_at", "has no UTC offset"),
    ({"id": "T", "created_at": CREATED, "users_affected": "12"}, "users_affected", "expected an integer"),
    ({"id": "T", "created_at": CREATED, "servce": "app"}, "servce", "did you mean 'service'?"),
    ({"id": "T", "created_at": CREATED, "service": "portal"}, "service", "is not one of"),
    ({"id": "T", "created_at": CREATED, "workaround": "no"}, "workaround", "expected true or false"),
    ({"id": "T", "created_at": CREATED, "customers_affected": -1}, "customers_affected", "minimum"),
    ({"created_at": CREATED}, "id", "missing required field 'id'"),
    ({"id": "T", "created_at": CREATED, "priority_override": {"priority": "P0", "reason": "x"}},
     "priority_override", "P0"),
])
def test_bad_tickets_name_the_field(policies, ticket, field, message):
    with pytest.raises(TicketError) as caught:
        policies.evaluate(ticket)
    assert caught.value.field == field
    assert message in str(caught.value)


def test_bad_ticket_reports_every_bad_field(policies):
    with pytest.raises(TicketError) as caught:
        policies.evaluate({"id": "T-9", "created_at": CREATED, "users_affected": 1.5, "extent": "most"})
    assert caught.value.ticket_id == "T-9"
    assert sorted(p.field for p in caught.value.problems) == ["extent", "users_affected"]


@pytest.mark.parametrize("ticket", [None, [], "T-1", 42, {"id": ["x"], "created_at": CREATED}])
def test_non_ticket_inputs_raise_ticket_error_not_builtin_errors(policies, ticket):
    with pytest.raises(TicketError):
        policies.evaluate(ticket)


def test_evaluate_many_goes_on_after_a_bad_ticket(policies):
    tickets = [{"id": "a", "created_at": CREATED}, {"id": "b"}, {"id": "c", "created_at": CREATED}]
    results = list(policies.evaluate_many(tickets))
    assert [type(r) for r in results] == [Decision, TicketError, Decision]
    assert [r.ticket_id for r in results] == ["a", "b", "c"]


# ----------------------------------------------------------------------------- one bad ticket, one TicketError
@pytest.mark.parametrize("extra, field, message", [
    ({"created_at": "0001-03-27T16:00:00+01:00"}, "created_at", "0001-03-27T16:00:00+01:00 is outside the supported years 1970-2100"),
    ({"created_at": "2101-01-01T09:00:00+01:00"}, "created_at", "is outside the supported years 1970-2100"),
    ({"created_at": "9999-12-31T23:59:59-14:00"}, "created_at", "is outside the supported years 1970-2100"),
    ({"escalated_at": "9999-12-31T23:59:59+01:00", "location_id": "loc-suburb-12"}, "escalated_at",
     "is outside the supported years 1970-2100"),
    ({"escalated_at": "2101-01-01T00:00:00+01:00"}, "escalated_at", "is outside the supported years 1970-2100"),
    # in range itself, but its due dates are not: 20 business days after the last day supported
    ({"created_at": "2100-12-31T16:00:00+01:00"}, "created_at",
     "its due dates cannot be counted: calendar 'partner-support': year 2101 is outside the supported years"),
    ({"created_at": "1970-01-01T00:00:00+14:00"}, "created_at", "year 1969 is outside the supported years"),
    ({"created_at": "2024-03-27T16:00:00+24:00"}, "created_at", "has UTC offset +24:00, outside -23:59 to +23:59"),
])
def test_a_date_out_of_range_is_a_ticket_error(policies, extra, field, message):
    """Each of these used to raise a bare TriageError (or OverflowError) that stopped evaluate_many."""
    with pytest.raises(TicketError) as caught:
        policies.evaluate({"id": "T-Y", "created_at": CREATED, **extra})
    assert (caught.value.field, caught.value.ticket_id) == (field, "T-Y")
    assert message in str(caught.value)


@pytest.mark.parametrize("extra, field, shown", [
    ({"id": "\ud800"}, "id", "\\ud800 at character 1"),
    ({"location_id": "loc-\udfff"}, "location_id", "\\udfff at character 5"),
    ({"priority_override": {"priority": "P1", "reason": "VIP \udc00"}}, "priority_override", "\\udc00"),
])
def test_text_that_is_not_valid_unicode_is_a_ticket_error(policies, extra, field, shown):
    """A lone surrogate (JSON "\\ud800") fits no UTF-8 output: the ticket is refused, in words that can be printed."""
    with pytest.raises(TicketError) as caught:
        policies.evaluate({"id": "T-U", "created_at": CREATED, **extra})
    assert caught.value.field == field
    assert "not valid Unicode: it holds a lone surrogate" in str(caught.value) and shown in str(caught.value)
    str(caught.value).encode("utf-8")  # printable
    assert caught.value.ticket_id == ("\\ud800" if field == "id" else "T-U")


def test_non_ascii_text_is_fine(policies):
    decision = policies.evaluate({"id": "T-Æ😀", "created_at": CREATED, "location_id": "loc-øster",
                                  "priority_override": {"priority": "P2", "reason": "kunde i Århus"}})
    assert decision.ticket_id == "T-Æ😀" and decision.priority == "P2"


def test_evaluate_many_yields_a_ticket_error_for_each_and_goes_on(policies):
    tickets = [{"id": "a", "created_at": CREATED}, {"id": "b", "created_at": "9999-01-01T00:00:00Z"},
               {"id": "c", "created_at": CREATED, "escalated_at": "0001-01-01T00:00:00Z"},
               {"id": "\ud800", "created_at": CREATED}, {"id": "e", "created_at": "2100-12-31T16:00:00+01:00"},
               {"id": "f", "created_at": CREATED}]
    results = list(policies.evaluate_many(tickets))
    assert [type(r).__name__ for r in results] == ["Decision", "TicketError", "TicketError", "TicketError",
                                                   "TicketError", "Decision"]


def test_eight_threads_get_identical_results(policies):
    tickets = [case["ticket"] for case in _seed_cases(policies)] * 30
    expected = [policies.evaluate(t).to_dict() for t in tickets]
    results: dict[int, list] = {}

    def work(n):
        results[n] = [policies.evaluate(t).to_dict() for t in tickets]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert all(r == expected for r in results.values())


def test_policy_set_is_immutable(policies):
    with pytest.raises(AttributeError):
        policies._compiled = None


# ----------------------------------------------------------------------------- operator SLAs
def _op(policies, **extra):
    ticket = {"id": "OP-1", "created_at": "2024-03-22T15:00:00+01:00", **extra}
    return policies.evaluate(ticket).to_dict()["operator_sla"]


def test_default_sla_weekday_deadlines_over_a_weekend(policies):
    sla = _op(policies, location_id="loc-suburb-12")  # listed without an SLA: the default (24h/48h weekdays)
    assert (sla["id"], sla["default"], sla["flagged"]) == ("standard", True, False)
    assert sla["first_level_due"] == "2024-03-25T15:00:00+01:00"
    assert sla["second_level_due"] == sla["total_due"] == "2024-03-27T15:00:00+01:00"


def test_escalated_at_moves_only_the_second_level(policies):
    sla = _op(policies, location_id="loc-suburb-12", escalated_at="2024-03-25T10:00:00+01:00")
    assert sla["second_level_due"] == "2024-03-27T10:00:00+01:00"
    assert sla["total_due"] == "2024-03-27T15:00:00+01:00"


def test_unknown_location_gets_the_default_unflagged(policies):
    sla = _op(policies, location_id="loc-opened-yesterday")
    assert (sla["id"], sla["default"], sla["flagged"]) == ("standard", True, False)


def test_non_default_binding_is_flagged_from_either_side(policies):
    by_location = _op(policies, location_id="loc-aarhus-harbour")
    assert (by_location["id"], by_location["flagged"]) == ("dc-hub", True)
    assert by_location["contact"]["role"] == "oem"
    # 12 h / 24 h, every day: Fri 15:00 + 12 h, then + 24 h
    assert by_location["first_level_due"] == "2024-03-23T03:00:00+01:00"
    assert by_location["total_due"] == "2024-03-24T03:00:00+01:00"
    by_sla = _op(policies, location_id="loc-odense-villa-3")
    assert (by_sla["id"], by_sla["flagged"]) == ("suburban-ac", True)


def test_weekdays_are_counted_in_the_location_timezone(policy_copy):
    from conftest import mutate
    mutate(policy_copy / "locations.yaml", "timezone: Europe/Stockholm", "timezone: Asia/Tokyo")
    policies = PolicySet.load(policy_copy)
    # Fri 20:00 in Copenhagen is already Saturday 04:00 in Tokyo
    ticket = {"id": "TZ", "created_at": "2024-03-22T20:00:00+01:00"}
    tokyo = policies.evaluate({**ticket, "location_id": "loc-malmo-central"}).operator_sla
    copenhagen = policies.evaluate({**ticket, "location_id": "loc-suburb-12"}).operator_sla
    assert tokyo.first_level_due.isoformat() == "2024-03-26T00:00:00+09:00"      # Mon 00:00 JST + 24 h
    assert copenhagen.first_level_due.isoformat() == "2024-03-25T20:00:00+01:00"  # 4 h Fri + 20 h Mon


def test_weekday_deadlines_across_both_dst_changes(policies):
    # Standard SLA, 24 h weekdays only: Fri 12:00 -> Mon 12:00 whatever the weekend's length
    for created, due in [("2024-03-29T12:00:00+01:00", "2024-04-01T12:00:00+02:00"),
                         ("2024-10-25T12:00:00+02:00", "2024-10-28T12:00:00+01:00")]:
        sla = policies.evaluate({"id": "D", "created_at": created, "location_id": "loc-suburb-12"}).operator_sla
        assert sla.first_level_due.isoformat() == due


def test_every_day_deadlines_count_elapsed_hours_across_dst(policies):
    # dc-hub: 12 h every day.  Sat 20:00 CET + 12 h elapsed = Sun 09:00 CEST (the night lost an hour)
    sla = policies.evaluate({"id": "D", "created_at": "2024-03-30T20:00:00+01:00",
                             "location_id": "loc-aarhus-harbour"}).operator_sla
    assert sla.first_level_due.isoformat() == "2024-03-31T09:00:00+02:00"
