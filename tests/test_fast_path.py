"""The evaluator's fused fast path: validation and rule matching in one generated pass.

It must give exactly what the complete validator and the memoised match give, and leave every
ticket it does not take as is (non-ASCII text, dates outside the supported years, nulls, unknown
fields, values that need a conversion it does not make) to that complete path."""
import sys

import pytest
from hypothesis import given, settings, strategies as st

from engine import PolicySet
from engine.core.errors import TicketError
from conftest import POLICIES, ROOT, examples

sys.path.insert(0, str(ROOT / "bench"))
from _gen import make_tickets  # noqa: E402

TICKET = {"id": "T-1", "created_at": "2024-04-02T09:30:00+02:00", "service": "wallet", "symptom": "down",
          "users_affected": 12, "workaround": False, "location_id": "loc-1", "delay_seconds": 10,
          "priority_override": {"priority": "P2", "reason": "VIP"}}


@pytest.fixture(scope="module")
def shipped():
    policies = PolicySet.load(POLICIES)
    triage = policies._compiled.triage_versions[-1]
    return policies, triage


@pytest.fixture(scope="module")
def complete_only():
    """The shipped set with the fused path turned off: every ticket takes the complete path."""
    from engine.evaluation.evaluator import _NO_FAST_PATH
    policies = PolicySet.load(POLICIES)
    policies._evaluator._matching = _NO_FAST_PATH
    return policies


def _answer(policies, ticket):
    try:
        return policies.evaluate(ticket).to_dict()
    except TicketError as exc:
        return [str(p) for p in exc.problems], exc.ticket_id


def _complete(triage, ticket):
    """What the complete path gives: the validator, then the memoised match of the normalised ticket."""
    facts = triage.validate_ticket(ticket)
    return facts, triage.evaluator.match_and_review(facts)


def _typed(result):
    facts, (matched, review) = result
    return list(facts.items()), [type(v) for v in facts.values()], matched, review


def test_the_fused_path_gives_what_validation_and_matching_give(shipped):
    _, triage = shipped
    fused = triage.evaluator.validate_and_match
    found = fused(TICKET)
    assert found is not None
    assert _typed(found) == _typed(_complete(triage, TICKET))
    assert type(found[0]["delay_seconds"]) is float and found[0]["priority_override"] is not TICKET["priority_override"]
    for ticket in make_tickets(2000, seed=5):
        found = fused(ticket)
        assert found is not None  # generated tickets are the common kind
        assert _typed(found) == _typed(_complete(triage, ticket))


def test_decisions_are_the_same_with_and_without_it(shipped, complete_only):
    policies, _ = shipped
    for ticket in make_tickets(2000, seed=6):
        assert _answer(policies, ticket) == _answer(complete_only, ticket)


@pytest.mark.parametrize("changed", [
    {"id": "T-é"}, {"location_id": "x\ud800"}, {"priority_override": {"priority": "P2", "reason": "VIP \u2603"}},
    {"created_at": "1969-12-31T23:59:59+00:00"}, {"created_at": "2101-01-01T00:00:00+00:00"},
    {"escalated_at": "2101-01-01T00:00:00+00:00"}, {"escalated_at": "1969-12-31T23:00:00+00:00"},
    {"service": None}, {"sevrity": "high"}, {"users_affected": 12.0}, {"workaround": 0}, {"service": "Wallet"},
    {"symptom": ["down"]}, {"created_at": "2024-04-02T09:30:00"},
])
def test_the_fused_path_leaves_other_tickets_to_the_complete_path(shipped, complete_only, changed):
    policies, triage = shipped
    ticket = {**TICKET, **changed}
    assert triage.evaluator.validate_and_match(ticket) is None
    assert _answer(policies, ticket) == _answer(complete_only, ticket)


# valid values, thresholds and their neighbours included
_VALID = {
    "requester": st.sampled_from(["business_partner", "private", "business_customer", "installer"]),
    "business_impact": st.sampled_from(["critical", "high", "medium", "low"]),
    "users_affected": st.integers(0, 4),
    "customers_affected": st.one_of(st.integers(0, 4), st.just(10 ** 30)),
    "service": st.sampled_from(["app", "hub", "wallet", "payments", "web_portal", "charging", "map"]),
    "extent": st.sampled_from(["all", "several", "single"]),
    "symptom": st.sampled_from(["down", "question", "degraded", "delayed", "visual"]),
    "workaround": st.booleans(),
    "gdpr_breach_suspected": st.sampled_from(["none", "minor", "major"]),
    "owner_troubleshooting_done": st.booleans(),
    "delay_seconds": st.one_of(st.integers(0, 12), st.floats(9.0, 11.0), st.sampled_from([10.0, 2 ** 60])),
    "location_id": st.sampled_from(["loc-1", "nowhere", ""]),
    "escalated_at": st.sampled_from(["2024-03-28T09:00:00+01:00", "2024-03-20T09:00:00+01:00"]),
    "priority_override": st.sampled_from([{"priority": "P1", "reason": "x"}, {"priority": "P4", "reason": "y"}]),
}
# values the fast path must leave to the complete path (or take exactly as it does)
_ODD = {
    "id": st.sampled_from(["", "é", "x" * 200, "x" * 201, 7, None]),
    "created_at": st.sampled_from(["2024-03-27T16:00:00Z", "2024-03-27 16:00:00-05:00", "1970-01-01T00:00:00+00:00",
                                   "2100-12-31T23:59:59+00:00", "1969-12-31T23:00:00-01:00", "2024-02-30T10:00:00+01:00",
                                   "bad", None]),
    "requester": st.sampled_from(["other", None, 1]),
    "business_impact": st.sampled_from(["huge", "Critical", 1]),
    "users_affected": st.sampled_from([-1, 2.0, True, "2", None]),
    "customers_affected": st.sampled_from([1.0, False, None]),
    "service": st.sampled_from(["portal", 3, None, ["app"]]),
    "workaround": st.sampled_from([0, 1, "false", None]),
    "delay_seconds": st.sampled_from([-1, float("inf"), float("nan"), True, "10", 2 ** 60 + 1]),
    "location_id": st.sampled_from(["é", "x\ud800", 5]),
    "escalated_at": st.sampled_from(["2101-01-01T00:00:00Z", "1969-12-31T23:00:00+00:00", "bad"]),
    "priority_override": st.sampled_from([{"priority": "P9", "reason": "x"}, {"priority": "P2", "reason": "é"}, "P1"]),
    "sevrity": st.just("high"),
}
_TICKETS = st.tuples(
    st.fixed_dictionaries({"id": st.sampled_from(["T-1", "T-2"]),
                           "created_at": st.sampled_from(["2024-03-27T16:00:00+01:00", "2025-12-31T23:30:00-05:00"])},
                          optional=_VALID),
    st.none() | st.sampled_from(sorted(_ODD)).flatmap(lambda name: _ODD[name].map(lambda value: (name, value))),
).map(lambda drawn: drawn[0] if drawn[1] is None else {**drawn[0], drawn[1][0]: drawn[1][1]})


@pytest.mark.slow
@settings(max_examples=examples(1500), deadline=None)
@given(_TICKETS)
def test_the_fused_path_agrees_with_the_complete_one(shipped, complete_only, ticket):
    """Whatever it takes, it gives exactly what the complete path gives (codes at each threshold
    and the rulesets' classes included), and the evaluator answers as without it."""
    policies, triage = shipped
    assert _answer(policies, ticket) == _answer(complete_only, ticket)
    found = triage.evaluator.validate_and_match(ticket)
    if found is None:
        return
    assert _typed(found) == _typed(_complete(triage, ticket))
    facts = found[0]
    assert all(1970 <= facts[name].year <= 2100 for name in ("created_at", "escalated_at") if name in facts)
    assert all(v.isascii() for v in facts.values() if isinstance(v, str))


def test_a_closed_set_still_names_a_bad_field_and_refuses_the_rest():
    from engine.core.errors import TriageError
    policies = PolicySet.load(POLICIES)
    policies.evaluate(TICKET)
    policies.close()
    with pytest.raises(TicketError) as raised:
        policies.evaluate({**TICKET, "service": "portal"})
    assert raised.value.problems[0].field == "service"
    with pytest.raises(TriageError, match="closed"):
        policies.evaluate(TICKET)
