"""Triage as seed 000 states it: the contact form, "several customers", channels, review, holidays."""
import itertools
import json

import pytest
from hypothesis import given, settings, strategies as st

from cli import cli
from engine import PolicySet, TicketError
from conftest import POLICIES

CREATED = "2024-03-27T16:00:00+01:00"
TABLE = {"critical": ("P2", "P1"), "high": ("P3", "P2"), "medium": ("P4", "P3"), "low": ("P4", "P4")}
RANK = {"P1": 0, "P2": 1, "P3": 2, "P4": 3}


@pytest.fixture(scope="module")
def policies():
    return PolicySet.load(POLICIES)


def _ticket(**facts):
    return {"id": "T", "created_at": CREATED, **facts}


@pytest.mark.parametrize("impact", TABLE)
@pytest.mark.parametrize("users,column", [(0, 0), (1, 0), (2, 1), (5000, 1)])
def test_each_contact_form_cell_gives_its_priority(policies, impact, users, column):
    decision = policies.evaluate(_ticket(requester="business_partner", business_impact=impact, users_affected=users))
    expected = TABLE[impact][column]
    assert decision.priority == expected
    cell = f"contact-form.{impact}.{('single', 'several')[column]}"
    assert decision.decided_by == cell and decision.matched_rules == (cell,)


@pytest.mark.parametrize("impact", TABLE)
@pytest.mark.parametrize("scenario,scenario_priority", [
    ({"gdpr_breach_suspected": "major"}, "P1"),
    ({"symptom": "frozen"}, "P2"),
    ({"service": "exports", "symptom": "down"}, "P3"),
    ({"symptom": "question"}, "P4"),
])
def test_with_scenario_facts_the_highest_priority_wins(policies, impact, scenario, scenario_priority):
    cell_priority = TABLE[impact][1]
    decision = policies.evaluate(_ticket(business_impact=impact, users_affected=40, **scenario))
    assert decision.priority == min(cell_priority, scenario_priority, key=RANK.get)
    assert f"contact-form.{impact}.several" in decision.matched_rules


@pytest.mark.parametrize("signal", [{"customers_affected": 3}, {"users_affected": 12}, {"extent": "several"}])
def test_every_sign_of_several_customers_counts(policies, signal):
    decision = policies.evaluate(_ticket(service="wallet", symptom="down", workaround=False, **signal))
    assert (decision.priority, decision.decided_by) == ("P2", "core-feature-down")


def test_everyone_down_is_never_below_several_down(policies):
    # the seed's P2 "payment not working for several customers" holds when it is everyone, too
    everyone = policies.evaluate(_ticket(service="payments", extent="all", symptom="down", workaround=True))
    several = policies.evaluate(_ticket(service="payments", extent="several", symptom="down", workaround=True))
    assert everyone.priority == several.priority == "P2"


# --------------------------------------------------------------------------- monotonicity

EXTENT = ["single", "several", "all"]
IMPACT = ["low", "medium", "high", "critical"]
SERVICES = ["web_portal", "hub", "app", "servers", "chargers", "charging", "smart_charge", "sponsored_charging",
            "map", "tax_refunds", "wallet", "payments", "account", "exports", "invoices", "reports", "insights",
            "other"]
SYMPTOMS = ["down", "degraded", "delayed", "frozen", "error_message", "wrong_data", "visual", "question"]

tickets = st.fixed_dictionaries({}, optional={
    "requester": st.sampled_from(["business_partner", "private", "business_customer", "installer"]),
    "service": st.sampled_from(SERVICES),
    "symptom": st.sampled_from(SYMPTOMS),
    "extent": st.sampled_from(EXTENT),
    "workaround": st.booleans(),
    "customers_affected": st.integers(0, 6),
    "users_affected": st.integers(0, 6),
    "business_impact": st.sampled_from(IMPACT),
    "gdpr_breach_suspected": st.sampled_from(["none", "minor", "major"]),
    "owner_troubleshooting_done": st.booleans(),
    "delay_seconds": st.sampled_from([0, 5, 10, 11.5, 60]),
})


def _wider(ticket):
    """Every ticket one step "worse" than ``ticket`` in one monotone fact, everything else equal."""
    if ticket.get("extent") in EXTENT[:-1]:
        yield {**ticket, "extent": EXTENT[EXTENT.index(ticket["extent"]) + 1]}
    if ticket.get("business_impact") in IMPACT[:-1]:
        yield {**ticket, "business_impact": IMPACT[IMPACT.index(ticket["business_impact"]) + 1]}
    for fact in ("customers_affected", "users_affected"):
        if fact in ticket:
            yield {**ticket, fact: ticket[fact] + 1}
            yield {**ticket, fact: ticket[fact] + 1000}
    if ticket.get("workaround") is True:
        yield {**ticket, "workaround": False}


@pytest.mark.slow
@settings(max_examples=2500, deadline=None)
@given(tickets)
def test_a_wider_problem_never_gets_a_lower_priority(policies, facts):
    base = policies.evaluate(_ticket(**facts))
    for worse in _wider(facts):
        decision = policies.evaluate(_ticket(**worse))
        assert RANK[decision.priority] <= RANK[base.priority], (facts, worse, base.priority, decision.priority)


# --------------------------------------------------------------------------- channels and holidays


def test_private_users_get_a_first_reply_within_five_minutes_around_the_clock(policies):
    decision = policies.evaluate({"id": "C", "created_at": "2024-04-06T10:00:00+02:00", "requester": "private"})
    assert (decision.target_set, decision.calendar) == ("private-chat", "always-open")
    assert decision.response_due.isoformat() == "2024-04-06T10:05:00+02:00"
    assert decision.resolution_due is None and decision.to_dict()["resolution_due"] is None
    assert decision.priority in RANK  # channel tickets still get a priority


def test_business_customers_get_three_business_days_of_portal_hours(policies):
    decision = policies.evaluate({"id": "B", "created_at": "2024-04-05T22:00:00+02:00",
                                  "requester": "business_customer"})
    assert (decision.target_set, decision.calendar, decision.route) == (
        "business-portal", "business-portal", "business-customers-portal")
    # Fri 22-23 (1 h), Sat and Sun 16 h each, Mon 07-22 (15 h): 48 h = 3 business days of 16 h
    assert decision.response_due.isoformat() == "2024-04-08T22:00:00+02:00"


def test_business_partners_and_unknown_requesters_get_the_partner_table(policies):
    for extra in ({}, {"requester": "business_partner"}):
        decision = policies.evaluate(_ticket(service="charging", symptom="down", customers_affected=3,
                                             workaround=False, **extra))
        assert (decision.target_set, decision.route, decision.calendar) == (
            "partner-support", None, "partner-support")
        assert decision.response_due.isoformat() == "2024-04-02T12:00:00+02:00"
        assert decision.resolution_due.isoformat() == "2024-04-08T16:00:00+02:00"


def test_new_years_day_2024_is_closed(policies):
    decision = policies.evaluate({"id": "N", "created_at": "2023-12-31T12:00:00+01:00",
                                  "gdpr_breach_suspected": "major"})
    assert decision.priority == "P1"
    assert decision.response_due.isoformat() == "2024-01-02T11:00:00+01:00"


# --------------------------------------------------------------------------- review


def test_an_incomplete_ticket_says_what_it_could_become(policies):
    decision = policies.evaluate(_ticket(service="web_portal", symptom="down"))
    assert decision.priority == "P4"
    assert decision.review.could_be == "P1"
    assert {"extent", "workaround"} <= set(decision.review.missing)
    assert decision.to_dict()["review"] == {"could_be": "P1", "missing": ["extent", "workaround"]}


def test_a_complete_p1_needs_no_review(policies):
    decision = policies.evaluate(_ticket(service="web_portal", extent="all", symptom="down", workaround=False))
    assert decision.priority == "P1" and decision.review is None
    assert decision.to_dict()["review"] is None


def test_review_reads_the_contact_form_too(policies):
    decision = policies.evaluate(_ticket(requester="business_partner", business_impact="critical"))
    assert decision.review.to_dict() == {"could_be": "P1", "missing": ["users_affected"]}


def test_no_review_without_a_fact_that_points_somewhere(policies):
    assert policies.evaluate(_ticket()).review is None  # nothing known is true: nothing is open


def test_review_is_not_offered_below_an_override(policies):
    decision = policies.evaluate(_ticket(service="web_portal", symptom="down",
                                         priority_override={"priority": "P1", "reason": "called in"}))
    assert decision.priority == "P1" and decision.review is None


def test_explain_says_the_review_in_words(runner):
    result = runner.invoke(cli, ["explain", "--policies", POLICIES, "-"],
                           input=json.dumps(_ticket(service="web_portal", symptom="down")))
    assert "could be P1 if `extent` and `workaround` were known" in result.stdout


CANDIDATES = {
    "requester": ["business_partner", "private", "business_customer", "installer"], "service": SERVICES,
    "symptom": SYMPTOMS, "extent": EXTENT, "workaround": [True, False], "customers_affected": [0, 1, 2, 11],
    "users_affected": [0, 1, 2, 11], "business_impact": IMPACT, "gdpr_breach_suspected": ["none", "minor", "major"],
    "owner_troubleshooting_done": [True, False], "delay_seconds": [0, 10, 11],
}


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(tickets)
def test_review_names_facts_that_can_reach_its_priority(policies, facts):
    """Filling in only the missing facts the review names can give the priority it says the ticket could be."""
    review = policies.evaluate(_ticket(**facts)).review
    if review is None:
        return
    assert all(fact not in facts for fact in review.missing)
    reached = min((RANK[policies.evaluate(_ticket(**facts, **dict(zip(review.missing, values)))).priority]
                   for values in itertools.product(*(CANDIDATES[f] for f in review.missing))), default=9)
    assert reached <= RANK[review.could_be]


# --------------------------------------------------------------------------- bad facts


def test_escalated_before_created_is_an_error_naming_escalated_at(policies):
    ticket = _ticket(location_id="loc-aarhus-harbour", escalated_at="2024-03-27T15:00:00+01:00")
    with pytest.raises(TicketError) as info:
        policies.evaluate(ticket)
    assert info.value.field == "escalated_at" and info.value.ticket_id == "T"
    results = list(policies.evaluate_many([ticket, _ticket(symptom="question")]))
    assert isinstance(results[0], TicketError) and results[1].priority == "P4"


def test_escalated_before_created_is_an_error_record_on_the_command_line(runner):
    lines = [json.dumps(_ticket(escalated_at="2024-03-26T10:00:00+01:00", location_id="x")),
             json.dumps({**_ticket(), "id": "ok"})]
    result = runner.invoke(cli, ["evaluate", "--policies", POLICIES, "-"], input="\n".join(lines) + "\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["field"] == "escalated_at" and records[0]["ticket_id"] == "T"
    assert records[1]["ticket_id"] == "ok" and result.stderr.strip() == "evaluated=1 failed=1"


def test_an_unlisted_location_gets_the_default_and_says_it_is_unknown(policies):
    unknown = policies.evaluate(_ticket(location_id="loc-not-listed")).to_dict()["operator_sla"]
    known = policies.evaluate(_ticket(location_id="loc-aarhus-harbour")).to_dict()["operator_sla"]
    assert unknown["default"] is True and unknown["known_location"] is False
    assert known["known_location"] is True


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(st.lists(tickets, min_size=1, max_size=8))
def test_memoised_review_equals_the_review_computed_whole(facts_list):
    """The review joined from per-ruleset memos equals the one computed over the whole signature,
    whatever the order in which the memos were filled."""
    policies = _FRESH.setdefault("set", PolicySet.load(POLICIES))
    triage = policies._compiled.triage_versions[-1]
    evaluator = triage.evaluator
    for facts in facts_list:
        ticket = triage.validate_ticket(_ticket(**facts))
        matched, review = evaluator.match_and_review(ticket)
        signature = evaluator._signature_of(ticket)
        assert matched == evaluator.match_uncached(ticket)
        assert review == _reference_review(evaluator.compiled, signature)


_FRESH: dict = {}
_OPS = {"eq": int.__eq__, "ne": int.__ne__, "gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__,
        "lte": int.__le__}


def _reference_review(compiled, signature):
    """The review by its definition, one compiled alternative at a time (a slow loop, no memo)."""
    n_slots = len(compiled.slots)
    best, missing = 9, set()
    for rule, terms in zip(compiled.rules, compiled.terms):
        if rule.priority is None:
            continue
        rank = RANK[rule.priority]
        for term in terms:
            known_true, lacking, false = False, set(), False
            for name, op, n in term:
                spec = compiled.fields[name]
                code = signature[spec.source]
                if spec.transform == "present":
                    value = int(code is not None)
                elif code is None:
                    source = spec.source
                    slot = source if source < n_slots else compiled.patterns[source - n_slots][0]
                    lacking.add(compiled.slots[slot].fact)
                    continue
                else:
                    value = int(code in spec.members) if spec.transform == "member" else code
                if _OPS[op](value, n):
                    known_true = True
                else:
                    false = True
            if not false and known_true and lacking:
                if rank < best:
                    best, missing = rank, set(lacking)
                elif rank == best:
                    missing |= lacking
    if best == 9:
        return None
    return (f"P{best + 1}", tuple(sorted(missing)), best)
