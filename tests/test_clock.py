"""The SLA clock over a ticket's life: golden timelines (Easter, Christmas, both DST changes of 2024
in Europe/Copenhagen), stopping, pausing, reopening, re-prioritisation and the operator levels."""
from datetime import datetime

import pytest

import engine
from engine import EventError, TicketClock
from conftest import POLICIES, mutate

SEED_P2 = {"service": "charging", "symptom": "down", "customers_affected": 3, "workaround": False}
QUESTION = {"symptom": "question"}                 # P4
GDPR_MAJOR = {"gdpr_breach_suspected": "major"}    # P1


@pytest.fixture(scope="module")
def policies():
    return engine.PolicySet.load(POLICIES)


def ev(ticket_id, at, type_, **fields):
    return {"ticket_id": ticket_id, "at": at, "type": type_, **fields}


def clock_of(policies, events, now) -> TicketClock:
    (only,) = [c for c in policies.clock(events, now=datetime.fromisoformat(now))]
    assert isinstance(only, TicketClock), only
    return only


def metric(c: TicketClock, name: str) -> dict:
    return c.to_dict()["metrics"][name]


def level(c: TicketClock, name: str) -> dict:
    return c.to_dict()["operator_sla"][name]


# --------------------------------------------------------------------------- done-when (a): Easter + spring DST
SEED_LOG = [
    ev("T-1", "2024-03-27T16:00:00+01:00", "created", ticket=SEED_P2),
    ev("T-1", "2024-04-02T11:30:00+02:00", "agent_reply"),
    ev("T-1", "2024-04-03T10:00:00+02:00", "status", status="pending"),
    ev("T-1", "2024-04-04T10:00:00+02:00", "status", status="open"),
    ev("T-1", "2024-04-09T12:00:00+02:00", "status", status="solved"),
]


def test_seed_ticket_across_easter_and_spring_dst(policies):
    c = clock_of(policies, SEED_LOG, "2024-04-10T12:00:00+02:00")
    assert (c.priority, c.rules_priority, c.status) == ("P2", "P2", "solved")
    assert metric(c, "first_response") == {
        "state": "met", "target": "4 business_hours", "due": "2024-04-02T12:00:00+02:00",
        "stopped_at": "2024-04-02T11:30:00+02:00", "breached_at": None,
        "elapsed_seconds": 12_600, "paused_seconds": 0, "remaining_seconds": 1_800, "percent": 87.5,
        "warnings": [50, 75]}
    assert metric(c, "resolution") == {
        "state": "met", "target": "5 business_days", "due": "2024-04-09T16:00:00+02:00",
        "stopped_at": "2024-04-09T12:00:00+02:00", "breached_at": None,
        "elapsed_seconds": 129_600, "paused_seconds": 28_800, "remaining_seconds": 14_400, "percent": 90.0,
        "warnings": [50, 75]}
    assert c.to_dict()["operator_sla"] is None


def test_seed_ticket_while_pending(policies):
    # Thursday 09:30, half an hour into Thursday while still pending: 10 h elapsed (1 h Wednesday 27th,
    # 8 h Tuesday, 1 h Wednesday 3rd), 7.5 h paused; due if the clock ran from now on
    c = clock_of(policies, SEED_LOG, "2024-04-04T09:30:00+02:00")
    assert c.status == "pending"
    m = metric(c, "resolution")
    assert (m["state"], m["elapsed_seconds"], m["paused_seconds"]) == ("paused", 36_000, 27_000)
    assert m["due"] == "2024-04-09T15:30:00+02:00" and m["stopped_at"] is None
    assert m["warnings"] == [] and m["percent"] == 25.0


def test_nothing_counts_over_easter(policies):
    c = clock_of(policies, SEED_LOG, "2024-04-01T23:00:00+02:00")  # Easter Monday night
    m = metric(c, "first_response")
    assert (m["state"], m["elapsed_seconds"], m["due"]) == ("active", 3_600, "2024-04-02T12:00:00+02:00")
    assert m["remaining_seconds"] == 10_800


def test_events_after_now_are_ignored(policies):
    before = clock_of(policies, SEED_LOG[:2], "2024-04-02T11:45:00+02:00").to_dict()
    assert clock_of(policies, SEED_LOG, "2024-04-02T11:45:00+02:00").to_dict() == before


# --------------------------------------------------------------------------- Christmas, reopening
CHRISTMAS_LOG = [
    ev("X-1", "2024-12-23T15:00:00+01:00", "created", ticket=GDPR_MAJOR),            # P1: 2 h / 4 h
    ev("X-1", "2024-12-23T16:30:00+01:00", "agent_reply"),
    ev("X-1", "2024-12-23T16:45:00+01:00", "status", status="on_hold"),
    ev("X-1", "2024-12-27T10:00:00+01:00", "status", status="open"),
    ev("X-1", "2024-12-30T10:00:00+01:00", "status", status="solved"),
    ev("X-1", "2024-12-31T09:00:00+01:00", "status", status="open"),                 # reopened on a holiday
]


def test_christmas_on_hold_then_late(policies):
    c = clock_of(policies, CHRISTMAS_LOG[:5], "2024-12-30T12:00:00+01:00")
    first = metric(c, "first_response")
    assert (first["state"], first["elapsed_seconds"], first["due"]) == ("met", 5_400, "2024-12-23T17:00:00+01:00")
    m = metric(c, "resolution")
    # 1h45m on Monday 23rd, Dec 24-26 closed, on hold until Friday 10:00 (15 min Monday + 1 h Friday paused),
    # 7 h Friday, 1 h Monday 30th: 9h45m against 4 h, run out on Friday 27th at 12:15
    assert m == {"state": "breached", "target": "4 business_hours", "due": "2024-12-27T12:15:00+01:00",
                 "stopped_at": "2024-12-30T10:00:00+01:00", "breached_at": "2024-12-27T12:15:00+01:00",
                 "elapsed_seconds": 35_100, "paused_seconds": 4_500, "remaining_seconds": -20_700,
                 "percent": 243.8, "warnings": [50, 75]}


def test_christmas_reopened_resumes_and_solved_time_does_not_count(policies):
    c = clock_of(policies, CHRISTMAS_LOG, "2025-01-02T10:00:00+01:00")
    assert c.status == "open"
    m = metric(c, "resolution")
    # Dec 31 and Jan 1 are holidays: only Thursday 2nd 09:00-10:00 counts after the reopening
    assert (m["state"], m["elapsed_seconds"], m["paused_seconds"], m["stopped_at"]) == \
        ("breached", 38_700, 4_500, None)
    assert m["breached_at"] == "2024-12-27T12:15:00+01:00"
    # the first response was given: reopening does not restart it
    assert metric(c, "first_response")["state"] == "met"


def test_reopening_a_met_resolution_makes_it_run_again(policies):
    log = [ev("R-1", "2024-04-08T09:00:00+02:00", "created", ticket=SEED_P2),
           ev("R-1", "2024-04-08T10:00:00+02:00", "status", status="solved"),
           ev("R-1", "2024-04-10T09:00:00+02:00", "status", status="open")]
    solved = metric(clock_of(policies, log, "2024-04-09T12:00:00+02:00"), "resolution")
    assert (solved["state"], solved["elapsed_seconds"], solved["stopped_at"]) == \
        ("met", 3_600, "2024-04-08T10:00:00+02:00")
    assert solved["due"] == "2024-04-12T17:00:00+02:00"   # 39 h more from the stop
    reopened = metric(clock_of(policies, log, "2024-04-10T11:00:00+02:00"), "resolution")
    assert (reopened["state"], reopened["elapsed_seconds"], reopened["stopped_at"]) == ("active", 10_800, None)
    assert reopened["due"] == "2024-04-16T16:00:00+02:00"   # 37 h more from now


def test_solving_without_a_reply_stops_first_response_and_reopening_resumes_it(policies):
    log = [ev("R-2", "2024-04-08T09:00:00+02:00", "created", ticket=SEED_P2),
           ev("R-2", "2024-04-08T10:00:00+02:00", "status", status="closed"),
           ev("R-2", "2024-04-09T09:00:00+02:00", "status", status="pending"),
           ev("R-2", "2024-04-09T10:00:00+02:00", "status", status="open")]
    closed = metric(clock_of(policies, log, "2024-04-08T16:00:00+02:00"), "first_response")
    assert (closed["state"], closed["stopped_at"], closed["elapsed_seconds"]) == \
        ("met", "2024-04-08T10:00:00+02:00", 3_600)
    resumed = metric(clock_of(policies, log, "2024-04-09T11:00:00+02:00"), "first_response")
    assert (resumed["state"], resumed["elapsed_seconds"], resumed["paused_seconds"]) == ("active", 7_200, 3_600)


def test_a_reply_at_exactly_the_target_is_met(policies):
    log = [ev("E-1", "2024-04-08T09:00:00+02:00", "created", ticket=SEED_P2),
           ev("E-1", "2024-04-08T13:00:00+02:00", "agent_reply")]
    m = metric(clock_of(policies, log, "2024-04-08T15:00:00+02:00"), "first_response")
    assert (m["state"], m["breached_at"], m["remaining_seconds"], m["percent"]) == ("met", None, 0, 100.0)
    assert m["due"] == "2024-04-08T13:00:00+02:00"


def test_running_past_due_at_a_closing_boundary_is_breached_after_it(policies):
    log = [ev("E-2", "2024-04-08T13:00:00+02:00", "created", ticket=SEED_P2)]   # 4 h: due 17:00, closing time
    at_due = metric(clock_of(policies, log, "2024-04-08T17:00:00+02:00"), "first_response")
    assert (at_due["state"], at_due["remaining_seconds"], at_due["due"]) == ("active", 0, "2024-04-08T17:00:00+02:00")
    evening = metric(clock_of(policies, log, "2024-04-08T18:00:00+02:00"), "first_response")
    assert (evening["state"], evening["breached_at"], evening["remaining_seconds"]) == \
        ("breached", "2024-04-08T17:00:00+02:00", 0)


def test_warnings(policies):
    log = [ev("W-1", "2024-04-08T09:00:00+02:00", "created", ticket=SEED_P2)]
    assert metric(clock_of(policies, log, "2024-04-08T10:59:00+02:00"), "first_response")["warnings"] == []
    assert metric(clock_of(policies, log, "2024-04-08T11:00:00+02:00"), "first_response")["warnings"] == [50]
    m = metric(clock_of(policies, log, "2024-04-08T12:30:00+02:00"), "first_response")
    assert (m["warnings"], m["percent"]) == ([50, 75], 87.5)


def test_a_reply_while_solved_then_reopened_keeps_first_response_stopped(policies):
    log = [ev("S-1", "2024-04-08T09:00:00+02:00", "created", ticket=SEED_P2),
           ev("S-1", "2024-04-08T10:00:00+02:00", "status", status="solved"),
           ev("S-1", "2024-04-08T11:00:00+02:00", "agent_reply"),
           ev("S-1", "2024-04-08T12:00:00+02:00", "status", status="open")]
    m = metric(clock_of(policies, log, "2024-04-08T15:00:00+02:00"), "first_response")
    assert (m["state"], m["stopped_at"], m["elapsed_seconds"]) == ("met", "2024-04-08T10:00:00+02:00", 3_600)


# --------------------------------------------------------------------------- done-when (b): re-prioritisation
RAISED_LOG = [
    ev("T-4", "2024-04-08T10:00:00+02:00", "created", ticket=QUESTION),                    # P4: 5 business days
    ev("T-4", "2024-04-09T10:00:00+02:00", "priority", priority="P2", reason="partner called: site is down"),
]


def test_raise_breaches_first_response_retroactively_from_creation(policies):
    c = clock_of(policies, RAISED_LOG, "2024-04-09T10:30:00+02:00")
    assert (c.priority, c.rules_priority) == ("P2", "P4")
    m = metric(c, "first_response")
    assert m["state"] == "breached" and m["target"] == "4 business_hours"
    assert m["breached_at"] == m["due"] == "2024-04-08T14:00:00+02:00"   # before the raise: retroactive
    assert (m["elapsed_seconds"], m["remaining_seconds"]) == (30_600, -16_200)
    # just before the raise, under P4, nothing was breached
    before = metric(clock_of(policies, RAISED_LOG, "2024-04-09T09:59:00+02:00"), "first_response")
    assert (before["state"], before["target"]) == ("active", "5 business_days")


@pytest.fixture
def from_change(policy_copy):
    mutate(policy_copy / "clock.yaml", "on_priority_change: from_creation", "on_priority_change: from_change")
    return engine.PolicySet.load(policy_copy)


def test_raise_counts_from_the_change_under_from_change(from_change):
    c = clock_of(from_change, RAISED_LOG, "2024-04-09T10:30:00+02:00")
    m = metric(c, "first_response")
    assert (m["state"], m["target"], m["breached_at"]) == ("active", "4 business_hours", None)
    assert (m["elapsed_seconds"], m["due"]) == (1_800, "2024-04-09T14:00:00+02:00")
    late = metric(clock_of(from_change, RAISED_LOG, "2024-04-09T15:00:00+02:00"), "first_response")
    assert (late["state"], late["breached_at"]) == ("breached", "2024-04-09T14:00:00+02:00")
    assert c.to_dict()["policy"]["documents"][-1] == "SLAClock/partner-support"


def test_a_breach_stays_when_the_priority_is_lowered(policies):
    log = [ev("L-1", "2024-04-08T09:00:00+02:00", "created", ticket=SEED_P2),
           ev("L-1", "2024-04-08T15:00:00+02:00", "priority", priority="P4", reason="only one site after all")]
    m = metric(clock_of(policies, log, "2024-04-08T16:00:00+02:00"), "first_response")
    assert (m["state"], m["target"], m["breached_at"]) == ("breached", "5 business_days", "2024-04-08T13:00:00+02:00")
    assert m["remaining_seconds"] > 0


def test_a_stopped_metric_keeps_the_target_it_stopped_under(policies):
    log = [ev("K-1", "2024-04-08T09:00:00+02:00", "created", ticket=QUESTION),
           ev("K-1", "2024-04-08T15:00:00+02:00", "agent_reply"),
           ev("K-1", "2024-04-09T10:00:00+02:00", "priority", priority="P1", reason="outage found")]
    c = clock_of(policies, log, "2024-04-09T11:00:00+02:00")
    first = metric(c, "first_response")
    assert (first["state"], first["target"]) == ("met", "5 business_days")
    resolution = metric(c, "resolution")   # still running: P1's 4 business hours from creation, retroactively
    assert (resolution["state"], resolution["target"], resolution["breached_at"]) == \
        ("breached", "4 business_hours", "2024-04-08T13:00:00+02:00")


def test_priority_event_wins_over_later_retriage(policies):
    log = [ev("O-1", "2024-04-08T09:00:00+02:00", "created", ticket=QUESTION),
           ev("O-1", "2024-04-08T10:00:00+02:00", "priority", priority="P3", reason="several customers"),
           ev("O-1", "2024-04-08T11:00:00+02:00", "updated", facts=GDPR_MAJOR)]
    c = clock_of(policies, log, "2024-04-08T12:00:00+02:00")
    assert (c.priority, c.rules_priority) == ("P3", "P1")
    assert c.decision.override["reason"] == "several customers"


def test_updated_facts_retriage(policies):
    log = [ev("U-1", "2024-04-08T09:00:00+02:00", "created", ticket=QUESTION),
           ev("U-1", "2024-04-08T10:00:00+02:00", "updated", facts=SEED_P2)]
    c = clock_of(policies, log, "2024-04-08T14:00:00+02:00")
    assert (c.priority, c.rules_priority) == ("P2", "P2")
    m = metric(c, "first_response")                   # from creation: 4 h reached at 13:00
    assert (m["state"], m["breached_at"]) == ("breached", "2024-04-08T13:00:00+02:00")


# --------------------------------------------------------------------------- operator levels, both DST changes
def test_operator_elapsed_clock_across_spring_forward(policies):
    # dc-hub: 12 hours elapsed; pending 22:00 CET -> 04:00 CEST is 5 real hours (02:00-03:00 does not exist)
    log = [ev("D-1", "2024-03-30T20:00:00+01:00", "created", ticket={**QUESTION, "location_id": "loc-aarhus-harbour"}),
           ev("D-1", "2024-03-30T22:00:00+01:00", "status", status="pending"),
           ev("D-1", "2024-03-31T04:00:00+02:00", "status", status="open")]
    c = clock_of(policies, log, "2024-03-31T12:00:00+02:00")
    op = c.to_dict()["operator_sla"]
    assert (op["id"], op["flagged"], op["timezone"]) == ("dc-hub", True, "Europe/Copenhagen")
    assert op["first_level"] == {
        "state": "active", "target": "12 hours", "due": "2024-03-31T14:00:00+02:00", "stopped_at": None,
        "breached_at": None, "elapsed_seconds": 36_000, "paused_seconds": 18_000, "remaining_seconds": 7_200,
        "percent": 83.3, "warnings": [50, 75]}
    assert op["second_level"]["state"] == "not_started" and op["second_level"]["due"] is None
    # the weekend and Easter Sunday count for nothing on the business calendar
    assert metric(c, "resolution")["elapsed_seconds"] == 0


def test_operator_elapsed_clock_across_fall_back(policies):
    # on hold 01:00 CEST -> 02:30 CET: 2h30m of real time; 12 h run out at 09:30 CET
    log = [ev("D-2", "2024-10-26T20:00:00+02:00", "created", ticket={**QUESTION, "location_id": "loc-aarhus-harbour"}),
           ev("D-2", "2024-10-27T01:00:00+02:00", "status", status="on_hold"),
           ev("D-2", "2024-10-27T02:30:00+01:00", "status", status="open")]
    c = clock_of(policies, log, "2024-10-27T10:00:00+01:00")
    first = level(c, "first_level")
    assert (first["state"], first["breached_at"], first["due"]) == \
        ("breached", "2024-10-27T09:30:00+01:00", "2024-10-27T09:30:00+01:00")
    assert (first["elapsed_seconds"], first["paused_seconds"], first["remaining_seconds"]) == (45_000, 9_000, -1_800)


def test_business_calendar_across_fall_back(policies):
    # P3: 2 business days = 16 h; Friday 1 h (CEST), Monday 8 h and Tuesday 1 h (CET)
    log = [ev("D-3", "2024-10-25T16:00:00+02:00", "created",
              ticket={"service": "exports", "symptom": "error_message"}),
           ev("D-3", "2024-10-29T10:00:00+01:00", "agent_reply")]
    c = clock_of(policies, log, "2024-10-29T12:00:00+01:00")
    assert c.priority == "P3"
    m = metric(c, "first_response")
    assert (m["state"], m["elapsed_seconds"], m["due"]) == ("met", 36_000, "2024-10-29T16:00:00+01:00")


def test_operator_levels_weekdays_only_and_escalation(policies):
    # standard SLA: 24 h then 48 h of Monday-Friday time; Friday 20:00 -> 4 h on Friday
    log = [ev("OP-1", "2024-04-05T20:00:00+02:00", "created", ticket={**QUESTION, "location_id": "loc-suburb-12"}),
           ev("OP-1", "2024-04-08T12:00:00+02:00", "escalated"),
           ev("OP-1", "2024-04-09T12:00:00+02:00", "status", status="solved")]
    c = clock_of(policies, log, "2024-04-10T12:00:00+02:00")
    first, second = level(c, "first_level"), level(c, "second_level")
    assert (first["state"], first["elapsed_seconds"], first["stopped_at"], first["due"]) == \
        ("met", 57_600, "2024-04-08T12:00:00+02:00", "2024-04-08T20:00:00+02:00")
    assert (first["target"], second["target"]) == ("24 hours (weekdays only)", "48 hours (weekdays only)")
    assert (second["state"], second["elapsed_seconds"], second["stopped_at"], second["due"]) == \
        ("met", 86_400, "2024-04-09T12:00:00+02:00", "2024-04-10T12:00:00+02:00")


def test_escalation_without_a_location_waits_for_one(policies):
    log = [ev("OP-2", "2024-04-08T09:00:00+02:00", "created", ticket=QUESTION),
           ev("OP-2", "2024-04-08T10:00:00+02:00", "escalated"),
           ev("OP-2", "2024-04-08T11:00:00+02:00", "updated", facts={"location_id": "loc-aarhus-harbour"})]
    assert clock_of(policies, log[:2], "2024-04-08T10:30:00+02:00").to_dict()["operator_sla"] is None
    c = clock_of(policies, log, "2024-04-08T12:00:00+02:00")
    first, second = level(c, "first_level"), level(c, "second_level")
    assert (first["state"], first["elapsed_seconds"], first["stopped_at"]) == \
        ("met", 3_600, "2024-04-08T10:00:00+02:00")
    assert (second["state"], second["elapsed_seconds"]) == ("active", 7_200)


# --------------------------------------------------------------------------- shape and library
def test_record_shape(policies):
    c = clock_of(policies, SEED_LOG, "2024-04-10T12:00:00+02:00")
    record = c.to_dict()
    assert list(record) == ["ticket_id", "created_at", "now", "priority", "rules_priority", "status", "review",
                            "calendar", "targets", "route", "metrics", "operator_sla", "policy"]
    assert record["review"] is None and record["now"] == "2024-04-10T12:00:00+02:00"
    assert record["policy"]["digest"] == policies.digest
    m = c.metrics["resolution"]
    assert m.due == datetime.fromisoformat("2024-04-09T16:00:00+02:00") and m.due.tzinfo.key == "Europe/Copenhagen"


def test_same_log_same_now_same_result(policies):
    now = datetime.fromisoformat("2024-04-05T12:00:00+02:00")
    first = [c.to_dict() for c in policies.clock(SEED_LOG, now=now)]
    assert first == [c.to_dict() for c in policies.clock(list(reversed(SEED_LOG)), now=now)]


def test_read_tickets_input_keeps_lines(policies, tmp_path):
    import io
    import json
    text = "".join(json.dumps(e) + "\n" for e in SEED_LOG[:2]) + "{oops\n"
    items = list(policies.clock(engine.read_tickets(io.BytesIO(text.encode())),
                                now=datetime.fromisoformat("2024-04-10T12:00:00+02:00")))
    assert isinstance(items[0], EventError) and items[0].to_dict()["line"] == 3
    assert isinstance(items[1], TicketClock)


def test_now_must_be_aware(policies):
    with pytest.raises(engine.TriageError, match="timezone-aware"):
        policies.clock(SEED_LOG, now=datetime(2024, 4, 10, 12))


def test_clock_without_an_slaclock_document_uses_the_defaults(policy_copy):
    (policy_copy / "clock.yaml").unlink()
    bare = engine.PolicySet.load(policy_copy)
    c = clock_of(bare, SEED_LOG, "2024-04-10T12:00:00+02:00")
    assert metric(c, "resolution")["paused_seconds"] == 28_800
    assert c.clock_policy.label is None and "SLAClock/partner-support" not in c.to_dict()["policy"]["documents"]


def test_pause_statuses_come_from_the_policy(policy_copy):
    mutate(policy_copy / "clock.yaml", "pause_statuses: [pending, on_hold]", "pause_statuses: [on_hold]")
    c = clock_of(engine.PolicySet.load(policy_copy), SEED_LOG, "2024-04-10T12:00:00+02:00")
    m = metric(c, "resolution")
    assert (m["elapsed_seconds"], m["paused_seconds"], m["due"]) == (158_400, 0, "2024-04-08T16:00:00+02:00")
    assert m["state"] == "breached" and m["breached_at"] == "2024-04-08T16:00:00+02:00"


def test_elapsed_and_calendar_day_targets(policy_copy):
    # P1 with an elapsed response and a calendar-day resolution: both count every hour in the calendar's
    # zone; '1 days' from Saturday 12:00 CET is Sunday 12:00 CEST, 23 h across the spring-forward night
    mutate(policy_copy / "priorities.yaml", "      response: 2 business_hours\n      resolution: 4 business_hours",
           "      response: 30 minutes\n      resolution: 1 days")
    policies = engine.PolicySet.load(policy_copy)
    log = [ev("A-1", "2024-03-30T12:00:00+01:00", "created", ticket=GDPR_MAJOR),
           ev("A-1", "2024-03-30T20:00:00+01:00", "status", status="pending"),
           ev("A-1", "2024-03-30T21:00:00+01:00", "status", status="open")]
    c = clock_of(policies, log, "2024-03-31T09:00:00+02:00")
    first, resolution = metric(c, "first_response"), metric(c, "resolution")
    assert (first["target"], first["state"], first["breached_at"]) == \
        ("30 minutes", "breached", "2024-03-30T12:30:00+01:00")
    assert (resolution["target"], resolution["state"], resolution["due"]) == \
        ("1 days", "active", "2024-03-31T13:00:00+02:00")
    assert (resolution["elapsed_seconds"], resolution["paused_seconds"], resolution["remaining_seconds"]) == \
        (68_400, 3_600, 14_400)   # 20 h since creation, 1 h of it paused; 23 h in all


# --------------------------------------------------------------------------- a metric with no target
PRIVATE_LOG = [
    ev("C-1", "2024-04-06T22:00:00+02:00", "created", ticket={**SEED_P2, "requester": "private"}),
    ev("C-1", "2024-04-06T22:04:00+02:00", "agent_reply"),
    ev("C-1", "2024-04-06T23:00:00+02:00", "status", status="solved"),
]


def test_a_metric_without_a_target_is_left_out(policies):
    """The private users' chat promises a first reply only (its targets have no resolution): the
    record has no `resolution` metric, the queue orders by first_response alone, and the texts say
    "no target"."""
    now = "2024-04-06T22:30:00+02:00"
    c = clock_of(policies, PRIVATE_LOG[:2], now)
    assert c.decision.resolution_target is None and c.decision.resolution_due is None
    record = c.to_dict()
    assert (record["targets"], record["route"], record["calendar"]) == ("private-chat", "private-users-chat",
                                                                         "always-open")
    assert list(record["metrics"]) == ["first_response"]
    assert record["metrics"]["first_response"] == {
        "state": "met", "target": "5 minutes", "due": "2024-04-06T22:05:00+02:00",
        "stopped_at": "2024-04-06T22:04:00+02:00", "breached_at": None, "elapsed_seconds": 240,
        "paused_seconds": 0, "remaining_seconds": 60, "percent": 80.0, "warnings": [50, 75]}
    assert [m.name for m in c.all_metrics()] == ["first_response"]
    # still open: queued, with nothing running (first_response stopped), so no due to order by
    (queued,) = policies.queue(PRIVATE_LOG[:2], now=datetime.fromisoformat(now))
    assert queued.ticket_id == "C-1" and queued.next_due() == (True, None)
    text = policies.explain_clock(PRIVATE_LOG, "C-1", now=datetime.fromisoformat("2024-04-07T00:00:00+02:00"))
    assert any(line.split() == ["resolution", "no", "target"] for line in text), text
    solved = clock_of(policies, PRIVATE_LOG, "2024-04-07T00:00:00+02:00")
    assert solved.status == "solved" and list(solved.to_dict()["metrics"]) == ["first_response"]


def test_an_unanswered_chat_breaches_after_five_minutes(policies):
    c = clock_of(policies, PRIVATE_LOG[:1], "2024-04-06T22:10:00+02:00")
    assert metric(c, "first_response")["state"] == "breached"
    assert metric(c, "first_response")["breached_at"] == "2024-04-06T22:05:00+02:00"
    assert "resolution" not in c.metrics
