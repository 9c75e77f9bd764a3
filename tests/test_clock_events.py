"""Bad events: every event type's bad input is an error record naming its line and field, and the rest
of the log goes on."""
from datetime import datetime

import pytest

import engine
from engine import EventError, TicketClock
from conftest import POLICIES

NOW = datetime.fromisoformat("2024-04-10T12:00:00+02:00")
AT = "2024-04-08T09:00:00+02:00"
LATER = "2024-04-08T10:00:00+02:00"
TICKET = {"service": "charging", "symptom": "down", "customers_affected": 3, "workaround": False}


@pytest.fixture(scope="module")
def policies():
    return engine.PolicySet.load(POLICIES)


def created(ticket_id="T-1", at=AT, **ticket):
    return {"ticket_id": ticket_id, "at": at, "type": "created", "ticket": {**TICKET, **ticket}}


def records(policies, events, now=NOW):
    return [item.to_dict() for item in policies.clock(events, now=now)]


def errors(policies, events, now=NOW):
    out = [item for item in policies.clock(events, now=now) if isinstance(item, EventError)]
    return [(e.line, e.ticket_id, e.field, e.message) for e in out]


def clocks(policies, events, now=NOW):
    return [item for item in policies.clock(events, now=now) if isinstance(item, TicketClock)]


# one bad event per case, as line 2 after a good 'created' (line 1) and before a good reply (line 3)
BAD = [
    # envelope
    ("not an object", ["agent_reply"], None, None, "an event must be a JSON object, got array"),
    ("ticket_id missing", {"at": LATER, "type": "agent_reply"}, None, "ticket_id", "missing required field 'ticket_id'"),
    ("ticket_id number", {"ticket_id": 7, "at": LATER, "type": "agent_reply"}, None, "ticket_id",
     "ticket_id must be a non-empty string of at most 1000 characters, got integer 7"),
    ("ticket_id empty", {"ticket_id": "", "at": LATER, "type": "agent_reply"}, None, "ticket_id",
     "ticket_id must be a non-empty string of at most 1000 characters, got an empty string"),
    ("at missing", {"ticket_id": "T-1", "type": "agent_reply"}, "T-1", "at", "missing required field 'at'"),
    ("at without offset", {"ticket_id": "T-1", "at": "2024-04-08T10:00:00", "type": "agent_reply"}, "T-1", "at",
     "'2024-04-08T10:00:00' has no UTC offset; add 'Z' or ±hh:mm (e.g. 2024-04-02T09:30:00+02:00)"),
    ("at not a date", {"ticket_id": "T-1", "at": "tomorrow", "type": "agent_reply"}, "T-1", "at",
     "'tomorrow' is not an RFC 3339 datetime (e.g. 2024-04-02T09:30:00+02:00)"),
    ("at a number", {"ticket_id": "T-1", "at": 1712566800, "type": "agent_reply"}, "T-1", "at",
     "at must be an RFC 3339 date-time string with offset, got integer 1712566800"),
    ("type missing", {"ticket_id": "T-1", "at": LATER}, "T-1", "type",
     "missing required field 'type' (one of created, updated, agent_reply, status, priority, escalated)"),
    ("type misspelt", {"ticket_id": "T-1", "at": LATER, "type": "agent_replied"}, "T-1", "type",
     "unknown event type string 'agent_replied'; did you mean 'agent_reply'?"),
    # agent_reply / escalated take nothing else
    ("agent_reply with a body", {"ticket_id": "T-1", "at": LATER, "type": "agent_reply", "body": "hi"}, "T-1", "body",
     "unknown field 'body' in a 'agent_reply' event (it takes ticket_id, at, type)"),
    ("escalated with a level", {"ticket_id": "T-1", "at": LATER, "type": "escalated", "levle": 2}, "T-1", "levle",
     "unknown field 'levle' in a 'escalated' event (it takes ticket_id, at, type)"),
    # status
    ("status missing", {"ticket_id": "T-1", "at": LATER, "type": "status"}, "T-1", "status",
     "missing required field 'status' for a 'status' event"),
    ("status misspelt", {"ticket_id": "T-1", "at": LATER, "type": "status", "status": "onhold"}, "T-1", "status",
     "unknown status string 'onhold'; did you mean 'on_hold'?"),
    ("status a number", {"ticket_id": "T-1", "at": LATER, "type": "status", "status": 3}, "T-1", "status",
     "unknown status integer 3 (one of open, pending, on_hold, solved, closed)"),
    ("status key misspelt", {"ticket_id": "T-1", "at": LATER, "type": "status", "stauts": "open"}, "T-1", "status",
     "missing required field 'status' for a 'status' event"),
    # priority
    ("priority missing reason", {"ticket_id": "T-1", "at": LATER, "type": "priority", "priority": "P1"}, "T-1",
     "reason", "missing required field 'reason' for a 'priority' event"),
    ("priority lower case", {"ticket_id": "T-1", "at": LATER, "type": "priority", "priority": "p1", "reason": "x"},
     "T-1", "priority", "priority must be one of P1, P2, P3, P4, got string 'p1'; did you mean 'P1'?"),
    ("priority P5", {"ticket_id": "T-1", "at": LATER, "type": "priority", "priority": "P5", "reason": "x"},
     "T-1", "priority", "priority must be one of P1, P2, P3, P4, got string 'P5'"),
    ("priority empty reason", {"ticket_id": "T-1", "at": LATER, "type": "priority", "priority": "P1", "reason": " "},
     "T-1", "reason", "reason must be a non-empty string: say why the team re-prioritised, got string ' '"),
    # updated
    ("updated without facts", {"ticket_id": "T-1", "at": LATER, "type": "updated"}, "T-1", "facts",
     "missing required field 'facts' for a 'updated' event"),
    ("updated facts a list", {"ticket_id": "T-1", "at": LATER, "type": "updated", "facts": []}, "T-1", "facts",
     "facts must be an object, got array"),
    ("updated bad fact", {"ticket_id": "T-1", "at": LATER, "type": "updated", "facts": {"users_affected": "lots"}},
     "T-1", "facts.users_affected", "expected an integer, got string 'lots'"),
    ("updated unknown fact", {"ticket_id": "T-1", "at": LATER, "type": "updated", "facts": {"sympton": "down"}},
     "T-1", "facts.sympton", "unknown field 'sympton'; did you mean 'symptom'?"),
    ("updated id", {"ticket_id": "T-1", "at": LATER, "type": "updated", "facts": {"id": "T-9"}}, "T-1", "facts.id",
     "id cannot be updated: it is fixed by the 'created' event"),
    ("updated created_at", {"ticket_id": "T-1", "at": LATER, "type": "updated", "facts": {"created_at": AT}}, "T-1",
     "facts.created_at", "created_at cannot be updated: it is fixed by the 'created' event"),
    # created (a second one, valid or not, is refused; the first stands)
    ("created twice", created(at=LATER), "T-1", "type", "ticket T-1 is already created"),
    ("created ticket a string", {"ticket_id": "T-1", "at": LATER, "type": "created", "ticket": "T-1"}, "T-1",
     "ticket", "ticket must be an object of facts, got string 'T-1'"),
    # order
    ("before created", {"ticket_id": "T-1", "at": "2024-04-08T08:00:00+02:00", "type": "agent_reply"}, "T-1", "at",
     "agent_reply event at 2024-04-08T08:00:00+02:00 is before the ticket's 'created' event (line 1, at "
     "2024-04-08T09:00:00+02:00)"),
]


@pytest.mark.parametrize("bad, ticket_id, field, message", [case[1:] for case in BAD], ids=[c[0] for c in BAD])
def test_a_bad_event_is_an_error_record_and_the_rest_goes_on(policies, bad, ticket_id, field, message):
    log = [created(), bad, {"ticket_id": "T-1", "at": "2024-04-08T11:00:00+02:00", "type": "agent_reply"}]
    assert errors(policies, log) == [(2, ticket_id, field, message)]
    (c,) = clocks(policies, log)
    # the good reply on line 3 was applied: first_response stopped at 11:00
    assert c.metrics["first_response"].stopped_at == datetime.fromisoformat("2024-04-08T11:00:00+02:00")


def test_error_record_shape(policies):
    log = [created(), {"ticket_id": "T-1", "at": LATER, "type": "status", "status": "onhold"}]
    record = records(policies, log)[0]
    assert record == {"line": 2, "ticket_id": "T-1", "event": "status", "field": "status",
                      "error": "unknown status string 'onhold'; did you mean 'on_hold'?"}


def test_a_bad_created_ticket_makes_the_ticket_an_error_record(policies):
    log = [created("T-1", users_affected="lots", sympton="down"),
           {"ticket_id": "T-1", "at": LATER, "type": "agent_reply"},
           created("T-2")]
    out = records(policies, log)
    assert len(out) == 2
    assert out[0]["line"] == 1 and out[0]["ticket_id"] == "T-1" and out[0]["event"] == "created"
    assert out[0]["field"] == "ticket.users_affected" and out[0]["error"] == "expected an integer, got string 'lots'"
    assert [p["field"] for p in out[0]["problems"]] == ["users_affected", "sympton"]
    assert out[1]["ticket_id"] == "T-2" and out[1]["priority"] == "P2"


@pytest.mark.parametrize("ticket, field, message", [
    ({"id": "T-9"}, "ticket.id", "ticket id 'T-9' is not the event's ticket_id 'T-1'"),
    ({"created_at": "2024-04-08T10:00:00+02:00"}, "ticket.created_at",
     "created_at 2024-04-08T10:00:00+02:00 is after the event's at 2024-04-08T09:00:00+02:00: a ticket is logged "
     "when or after it is created"),
    ({"created_at": "2024-04-08"}, "ticket.created_at", None),
])
def test_created_ticket_checks(policies, ticket, field, message):
    (record,) = records(policies, [created(**ticket)])
    assert (record["line"], record["ticket_id"], record["field"]) == (1, "T-1", field)
    if message:
        assert record["error"] == message


def test_created_at_defaults_to_at_and_may_be_earlier(policies):
    (c,) = clocks(policies, [created(at=LATER, created_at=AT)])
    assert c.created_at == datetime.fromisoformat(AT)
    (c,) = clocks(policies, [created(at=LATER)])
    assert c.created_at == datetime.fromisoformat(LATER) and c.decision.ticket_id == "T-1"


def test_unknown_ticket(policies):
    log = [created("T-1"), {"ticket_id": "T-7", "at": LATER, "type": "agent_reply"},
           {"ticket_id": "T-7", "at": LATER, "type": "status", "status": "solved"}]
    assert errors(policies, log) == [
        (2, "T-7", "ticket_id", "unknown ticket 'T-7': no 'created' event for it (up to now)"),
        (3, "T-7", "ticket_id", "unknown ticket 'T-7': no 'created' event for it (up to now)")]


def test_ties_keep_input_order(policies):
    log = [created(), {"ticket_id": "T-1", "at": LATER, "type": "status", "status": "pending"},
           {"ticket_id": "T-1", "at": LATER, "type": "status", "status": "open"}]
    (c,) = clocks(policies, log)
    assert c.status == "open"
    log[1], log[2] = log[2], log[1]
    (c,) = clocks(policies, log)
    assert c.status == "pending"


def test_an_event_at_the_same_instant_but_listed_before_created_is_before_it(policies):
    log = [{"ticket_id": "T-1", "at": AT, "type": "agent_reply"}, created()]
    assert [e[2] for e in errors(policies, log)] == ["at"]


def test_events_after_now_are_ignored_even_bad_ones(policies):
    now = datetime.fromisoformat("2024-04-08T09:30:00+02:00")
    log = [created(), {"ticket_id": "T-1", "at": LATER, "type": "status", "status": "onhold"},
           {"ticket_id": "T-9", "at": LATER, "type": "agent_reply"}, created("T-3", at=LATER, users_affected="x")]
    assert errors(policies, log, now) == []
    assert [c.ticket_id for c in clocks(policies, log, now)] == ["T-1"]


def test_errors_naming_no_ticket_come_first(policies):
    log = [created(), "junk", {"ticket_id": "T-1", "at": LATER, "type": "agent_reply"}]
    out = records(policies, log)
    assert out[0] == {"line": 2, "ticket_id": None, "event": None, "field": None,
                      "error": "an event must be a JSON object, got string 'junk'"}
    assert out[1]["ticket_id"] == "T-1"


def test_repeated_reply_and_escalation_are_no_ops(policies):
    log = [created(location_id="loc-suburb-12"),
           {"ticket_id": "T-1", "at": LATER, "type": "agent_reply"},
           {"ticket_id": "T-1", "at": "2024-04-08T11:00:00+02:00", "type": "agent_reply"},
           {"ticket_id": "T-1", "at": LATER, "type": "escalated"},
           {"ticket_id": "T-1", "at": "2024-04-08T11:00:00+02:00", "type": "escalated"},
           {"ticket_id": "T-1", "at": "2024-04-08T11:00:00+02:00", "type": "status", "status": "open"}]
    (c,) = clocks(policies, log)
    assert c.metrics["first_response"].stopped_at == datetime.fromisoformat(LATER)
    assert c.levels["first_level"].stopped_at == datetime.fromisoformat(LATER)
    # the 2nd level counts from the first escalation: 48 weekday hours from Monday 10:00
    second = c.levels["second_level"]
    assert (second.state, second.breached_at) == ("breached", datetime.fromisoformat("2024-04-10T10:00:00+02:00"))


def test_a_priority_without_targets_is_an_error_for_that_event(tmp_path):
    (tmp_path / "set.yaml").write_text('''apiVersion: triage/v1
kind: BusinessCalendar
metadata: {name: desk}
spec:
  timezone: Europe/Copenhagen
  hours: {mon-fri: ["09:00-17:00"]}
---
apiVersion: triage/v1
kind: PriorityTargets
metadata: {name: desk}
spec:
  calendar: desk
  priorities:
    P1: {name: Urgent, response: 1 business_hours, resolution: 4 business_hours}
    P3: {name: Normal, response: 8 business_hours, resolution: 5 business_days}
---
apiVersion: triage/v1
kind: TriagePolicy
metadata: {name: desk}
spec:
  targets: desk
  default_priority: P3
  facts:
    id: {type: string, required: true}
    created_at: {type: datetime, required: true}
    priority_override: {type: override}
  rules: []
''')
    policies = engine.PolicySet.load(tmp_path, git=False)
    log = [{"ticket_id": "T-1", "at": AT, "type": "created", "ticket": {}},
           {"ticket_id": "T-1", "at": LATER, "type": "priority", "priority": "P2", "reason": "why not"},
           {"ticket_id": "T-1", "at": LATER, "type": "priority", "priority": "P1", "reason": "outage"}]
    ((line, ticket_id, field, message),) = errors(policies, log)
    assert (line, ticket_id, field) == (2, "T-1", "priority") and "no targets for P2" in message
    (c,) = clocks(policies, log)
    assert c.priority == "P1" and c.metrics["first_response"].target == "1 business_hours"


def test_events_may_be_any_mapping(policies):
    from types import MappingProxyType
    log = [MappingProxyType(created()), MappingProxyType({"ticket_id": "T-1", "at": LATER, "type": "agent_reply"})]
    (c,) = clocks(policies, log)
    assert c.metrics["first_response"].state == "met"
