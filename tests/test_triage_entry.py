"""``Evaluator.triage``: what ``evaluate`` decides, without counting due dates (the SLA clock's triage)."""
import json
import sys

import pytest

from engine import PolicySet, TicketError, TriageError
from conftest import EXAMPLES, POLICIES, ROOT

sys.path.insert(0, str(ROOT / "bench"))
from _gen import make_tickets  # noqa: E402

_SAME = ("ticket_id", "priority", "rules_priority", "decided_by", "matched_rules", "override", "calendar", "created_at",
         "response_target", "resolution_target", "policy", "target_set", "route", "review", "business_calendar")


@pytest.fixture(scope="module")
def evaluator():
    return PolicySet.load(POLICIES)._evaluator


def _outcome(fn, ticket):
    try:
        return fn(ticket)
    except (TicketError, TriageError) as exc:
        return exc


def _agree(evaluator, ticket) -> None:
    full, triaged = _outcome(evaluator.evaluate, ticket), _outcome(evaluator.triage, ticket)
    if isinstance(full, Exception):
        assert type(triaged) is type(full) and str(triaged) == str(full)
        assert [(p.field, p.message) for p in getattr(triaged, "problems", ())] == \
            [(p.field, p.message) for p in getattr(full, "problems", ())]
        return
    assert not isinstance(triaged, Exception), triaged
    for field in _SAME:
        assert getattr(triaged, field) == getattr(full, field), field
    assert triaged.response_due is None and triaged.resolution_due is None
    if full.operator_sla is None:
        assert triaged.operator_sla is None
    else:
        op, top = full.operator_sla, triaged.operator_sla
        assert (top.sla, top.location_id, top.location_known, top.flagged, top.timezone, top.escalated) == \
            (op.sla, op.location_id, op.location_known, op.flagged, op.timezone, op.escalated)
        assert top.first_level_due is None and top.second_level_due is None and top.total_due is None


def test_triage_agrees_with_evaluate_on_the_examples(evaluator):
    for line in (EXAMPLES / "tickets.jsonl").read_text().splitlines():
        _agree(evaluator, json.loads(line))


def test_triage_agrees_with_evaluate_on_generated_tickets(evaluator):
    for ticket in make_tickets(2000, 21):
        _agree(evaluator, ticket)


@pytest.mark.parametrize("created_at", ["2100-12-31T10:00:00+00:00", "2100-12-20T10:00:00-12:00",
                                        "2100-06-30T10:00:00+00:00", "2099-12-31T23:00:00-11:00",
                                        "2097-12-31T23:00:00-12:00", "1972-01-01T00:00:00+14:00",
                                        "1970-01-01T00:30:00+01:00", "1970-01-02T00:00:00+00:00",
                                        "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+00:00", "not a date"])
@pytest.mark.parametrize("escalated_at", [None, "2100-12-31T20:00:00+00:00", "1970-01-01T00:00:00+00:00"])
def test_triage_gives_the_errors_evaluate_gives_near_the_ends_of_the_years(evaluator, created_at, escalated_at):
    """Due dates and operator deadlines that cannot be counted are refused by both alike."""
    for ticket in make_tickets(40, 5):
        ticket = {**ticket, "created_at": created_at, "location_id": ticket.get("location_id", "CPH-01")}
        if escalated_at is not None:
            ticket["escalated_at"] = escalated_at
        _agree(evaluator, ticket)


def test_triage_refuses_what_evaluate_refuses(evaluator):
    base = make_tickets(1, 3)[0]
    for bad in [{"created_at": None}, {"priority_override": {"priority": "P9", "reason": "x"}}, {"id": 5},
                {"escalated_at": "2020-01-01T00:00:00Z"}, {"service": "nope"}, {"requester": "\ud800"}]:
        _agree(evaluator, {**base, **bad})
    _agree(evaluator, "not a ticket")


def test_the_years_a_count_surely_succeeds_from():
    from engine.calendar.years import NONE_SURE, sure_years
    from engine.core.errors import CalendarError

    starts = []
    assert sure_years(1970, 2100, starts.append) == (1972, 2097)
    assert starts[0].year == 2099 and starts[0].utcoffset().total_seconds() == 0

    def refuse(start):
        raise CalendarError("past the supported years")

    assert sure_years(1970, 2100, refuse) == NONE_SURE
    assert sure_years(2020, 2024, starts.append) == NONE_SURE  # too few years to leave two at each end
