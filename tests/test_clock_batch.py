"""The batch path (engine.sla.batch, the common ticket read a field at a time) and the general path
(events parsed and applied one by one) give every ticket the same clock and the same errors, whatever
its events: any event the batch path is unsure of sends the ticket to the general path."""
from datetime import datetime

import pytest

import engine
from engine.sla import clock as clock_module
from conftest import POLICIES

NOW = datetime.fromisoformat("2024-04-20T12:00:00+02:00")
TICKET = {"service": "charging", "symptom": "down", "customers_affected": 3, "workaround": False}


class Text(str):
    """A str subclass: equal to the str, but not one the fast reading takes."""


def life(ticket_id="T-1"):
    at = [f"2024-04-{day:02d}T{hour:02d}:00:00+02:00" for day, hour in
          [(8, 9), (8, 10), (8, 11), (9, 9), (9, 12), (10, 8), (11, 9), (11, 10), (12, 9), (15, 9)]]
    kinds = [{"type": "created", "ticket": dict(TICKET)}, {"type": "agent_reply"},
             {"type": "status", "status": "pending"}, {"type": "status", "status": "open"},
             {"type": "updated", "facts": {"customers_affected": 40}}, {"type": "status", "status": "on_hold"},
             {"type": "status", "status": "open"}, {"type": "priority", "priority": "P1", "reason": "VIP"},
             {"type": "escalated"}, {"type": "status", "status": "solved"}]
    return [{"ticket_id": ticket_id, "at": a, **k} for a, k in zip(at, kinds)]


def mutations():
    """(name, function changing one ticket's events in place)."""
    def at(i, value):
        return lambda evs: evs[i].update(at=value)

    def field(i, **values):
        return lambda evs: evs[i].update(values)

    def drop(i, name):
        return lambda evs: evs[i].pop(name)

    def swap(i, j):
        def go(evs):
            evs[i], evs[j] = evs[j], evs[i]
        return go

    return [
        ("plain", lambda evs: None),
        ("status True", field(2, status=True)), ("status 2", field(2, status=2)),
        ("status None", field(3, status=None)), ("status list", field(3, status=["open"])),
        ("status str subclass", field(2, status=Text("pending"))), ("unknown status", field(2, status="pendng")),
        ("type str subclass", field(1, type=Text("agent_reply"))), ("type int", field(1, type=2)),
        ("unknown type", field(1, type="agent_replied")), ("no type", drop(1, "type")),
        ("a second created", field(1, type="created", ticket={})), ("created not first", swap(0, 1)),
        ("ticket renamed", lambda evs: evs[0].update(tickett=evs[0].pop("ticket"))),
        ("ticket a list", field(0, ticket=[1])), ("ticket invalid", field(0, ticket={**TICKET, "workaround": 3})),
        ("an extra field", field(1, note="x")), ("status renamed", lambda evs: evs[2].update(state=evs[2].pop("status"))),
        ("at str subclass", at(1, Text("2024-04-08T10:00:00+02:00"))), ("at int", at(1, 5)), ("at list", at(1, [1])),
        ("at None", at(1, None)), ("no at", drop(1, "at")), ("at with a fraction", at(1, "2024-04-08T10:00:00.5+02:00")),
        ("at Z", at(1, "2024-04-08T08:00:00Z")), ("at lower case", at(1, "2024-04-08t10:00:00+02:00")),
        ("at invalid", at(1, "2024-04-08T25:00:00+02:00")), ("at dict", at(1, {})),
        ("out of order", swap(3, 4)), ("same instant", at(2, "2024-04-08T10:00:00+02:00")),
        ("after now", at(9, "2024-05-01T09:00:00+02:00")), ("after now, before others", at(5, "2024-05-01T09:00:00+02:00")),
        ("after now and bad", lambda evs: evs[9].update(at="2024-05-01T09:00:00+02:00", type="bogus")),
        ("after now, then one before", lambda evs: (evs[8].update(at="2024-05-01T09:00:00+02:00"),
                                                    evs[9].update(at="2024-04-19T09:00:00+02:00"))),
        ("created after now", at(0, "2024-05-01T09:00:00+02:00")),
        ("bad update", field(4, facts={"customers_affected": -1})), ("update of id", field(4, facts={"id": "X"})),
        ("update a list", field(4, facts=[1])), ("priority P9", field(7, priority="P9")),
        ("blank reason", field(7, reason="  ")), ("reason not text", field(7, reason=3)),
        ("priority without reason", drop(7, "reason")),
        ("ticket id of another", field(0, ticket={**TICKET, "id": "T-9"})),
        ("created_at after at", field(0, ticket={**TICKET, "created_at": "2024-04-09T09:00:00+02:00"})),
    ]


@pytest.fixture(scope="module")
def policies():
    return engine.PolicySet.load(POLICIES)


def both(policies, events, monkeypatch):
    batched = [item.to_dict() for item in policies.clock(events, now=NOW)]
    with monkeypatch.context() as m:
        m.setattr(clock_module, "clock_batch", lambda clock, batch, log, now_us: [None] * len(batch))
        general = [item.to_dict() for item in policies.clock(events, now=NOW)]
    return batched, general


@pytest.mark.parametrize("name,change", mutations(), ids=[name for name, _ in mutations()])
def test_batch_and_general_paths_agree(policies, monkeypatch, name, change):
    mutated = life("T-2")
    change(mutated)
    events = life("T-1") + mutated + life("T-3")
    batched, general = both(policies, events, monkeypatch)
    assert batched == general
    assert [r.get("ticket_id") for r in batched if "metrics" in r][0] == "T-1"


def test_a_log_of_other_events_is_grouped_the_same(policies, monkeypatch):
    """Events that are not dicts, or name no valid ticket, are read one at a time; the tickets are the same."""
    events = life("T-1") + [[1], {"at": "2024-04-08T09:00:00+02:00", "type": "agent_reply"}, {"ticket_id": ""},
                            {"ticket_id": 7, "type": "agent_reply"}] + life("T-2")
    batched, general = both(policies, events, monkeypatch)
    assert batched == general
    plain = [item.to_dict() for item in policies.clock(life("T-1") + life("T-2"), now=NOW)]
    assert [r for r in batched if "metrics" in r] == plain
    assert [r["line"] for r in batched if "error" in r] == [11, 12, 13, 14]
