"""Properties of the SLA clock over random event logs (Easter 2024 and its DST change included):

* elapsed time never decreases as ``now`` grows (from_creation, all targets on one calendar);
* a pause never adds elapsed time: pausing moves exactly the paused time out of elapsed;
* met and breached are final unless the ticket is reopened (breached is final even then);
* the clock at any ``now`` equals the clock computed from the events up to ``now``;
* the order of the log across tickets does not matter.
"""
import random
import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import engine
from engine import TicketClock, TicketInput
from conftest import POLICIES, mutate

CPH = ZoneInfo("Europe/Copenhagen")
BASE = datetime(2024, 3, 25, 8, 0, tzinfo=CPH)   # Monday before Easter; DST on Easter Sunday
TICKETS = [{"gdpr_breach_suspected": "major"},
           {"service": "charging", "symptom": "down", "customers_affected": 3, "workaround": False},
           {"service": "exports", "symptom": "error_message"},
           {"symptom": "question"}]
LOCATIONS = ["loc-aarhus-harbour", "loc-suburb-12", "loc-new-7"]
STATUSES = ["open", "pending", "on_hold", "solved", "closed"]
UPDATES = [{"customers_affected": 1}, {"customers_affected": 40}, {"symptom": "down"}, {"workaround": True},
           {"gdpr_breach_suspected": "minor"}, {"service": "payments", "extent": "several"}]
ZONES = [CPH, ZoneInfo("UTC"), ZoneInfo("America/New_York")]

QUICK = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def from_creation():
    return engine.PolicySet.load(POLICIES)


@pytest.fixture(scope="module")
def from_change(tmp_path_factory):
    target = tmp_path_factory.mktemp("clock") / "policies"
    shutil.copytree(POLICIES, target)
    mutate(target / "clock.yaml", "on_priority_change: from_creation", "on_priority_change: from_change")
    return engine.PolicySet.load(target)


def _stamp(t: datetime, zone) -> str:
    return t.astimezone(zone).isoformat()


@st.composite
def logs(draw):
    """(events, sorted nows): 1-3 tickets over three weeks from 2024-03-25, up to 9 events each."""
    events = []
    for i in range(draw(st.integers(1, 3))):
        ticket_id = f"H-{i}"
        created = BASE + timedelta(minutes=draw(st.integers(0, 14 * 24 * 60)))
        ticket = dict(draw(st.sampled_from(TICKETS)))
        if draw(st.booleans()):
            ticket["location_id"] = draw(st.sampled_from(LOCATIONS))
        events.append({"ticket_id": ticket_id, "at": _stamp(created, draw(st.sampled_from(ZONES))),
                       "type": "created", "ticket": ticket})
        t = created
        for _ in range(draw(st.integers(0, 8))):
            t += timedelta(minutes=draw(st.sampled_from([0, 1, 30, 60, 240, 600, 1440, 2880, 5000])))
            kind = draw(st.sampled_from(["agent_reply", "status", "status", "status", "priority", "updated",
                                         "escalated"]))
            event = {"ticket_id": ticket_id, "at": _stamp(t, draw(st.sampled_from(ZONES))), "type": kind}
            if kind == "status":
                event["status"] = draw(st.sampled_from(STATUSES))
            elif kind == "priority":
                event.update(priority=draw(st.sampled_from(["P1", "P2", "P3", "P4"])), reason="team decision")
            elif kind == "updated":
                event["facts"] = draw(st.sampled_from(UPDATES))
            events.append(event)
    nows = sorted(BASE + timedelta(minutes=draw(st.integers(0, 30 * 24 * 60))) for _ in range(3))
    return events, nows


def _interleave(events, seed):
    """Shuffled across tickets, each ticket's own events in their order."""
    per_ticket = {}
    for e in events:
        per_ticket.setdefault(e["ticket_id"], []).append(e)
    owners = [e["ticket_id"] for e in events]
    random.Random(seed).shuffle(owners)
    return [per_ticket[owner].pop(0) for owner in owners]


def _clocks(policies, events, now) -> dict:
    return {c.ticket_id: c for c in policies.clock(events, now=now) if isinstance(c, TicketClock)}


def _metrics(c: TicketClock) -> dict:
    return {m.name: m for m in c.all_metrics()}


def _unpaused(events):
    return [{**e, "status": "open"} if e["type"] == "status" and e["status"] in ("pending", "on_hold") else e
            for e in events]


# --------------------------------------------------------------------------- the properties
def elapsed_never_decreases(policies, events, nows):
    seen: dict = {}
    for now in nows:
        for ticket_id, c in _clocks(policies, events, now).items():
            for name, m in _metrics(c).items():
                before = seen.get((ticket_id, name))
                assert before is None or m.elapsed_us >= before, (ticket_id, name, now)
                seen[(ticket_id, name)] = m.elapsed_us


def a_pause_never_adds_elapsed_time(policies, events, nows):
    for now in nows:
        paused, unpaused = _clocks(policies, events, now), _clocks(policies, _unpaused(events), now)
        assert paused.keys() == unpaused.keys()
        for ticket_id, c in paused.items():
            other = _metrics(unpaused[ticket_id])
            for name, m in _metrics(c).items():
                assert m.elapsed_us <= other[name].elapsed_us
                assert m.elapsed_us + m.paused_us == other[name].elapsed_us, (ticket_id, name, now)
                assert other[name].paused_us == 0


def _reopened_between(events, ticket_id, a, b) -> bool:
    for e in events:
        if e["ticket_id"] == ticket_id and e["type"] == "status" and e["status"] not in ("solved", "closed") \
                and a < datetime.fromisoformat(e["at"]) <= b:
            return True
    return False


def met_and_breached_are_final(policies, events, nows):
    earlier: dict = {}
    for now in nows:
        clocks = _clocks(policies, events, now)
        for ticket_id, c in clocks.items():
            for name, m in _metrics(c).items():
                before = earlier.get((ticket_id, name))
                if before is None:
                    continue
                state, when = before
                if state == "breached":
                    assert m.state == "breached", (ticket_id, name, when, now)
                elif state == "met" and not _reopened_between(events, ticket_id, when, now):
                    assert m.state == "met", (ticket_id, name, when, now)
        earlier = {(t, name): (m.state, now) for t, c in clocks.items() for name, m in _metrics(c).items()}


def clock_at_now_is_clock_of_the_log_cut_at_now(policies, events, nows):
    items = [TicketInput(line, ticket=e) for line, e in enumerate(events, 1)]
    for now in nows:
        cut = [item for item in items if datetime.fromisoformat(item.ticket["at"]) <= now]
        full = [r.to_dict() for r in policies.clock(items, now=now)]
        assert full == [r.to_dict() for r in policies.clock(cut, now=now)]


def order_across_tickets_does_not_matter(policies, events, nows):
    now = nows[-1]
    expected = sorted((c.to_dict() for c in _clocks(policies, events, now).values()), key=lambda r: r["ticket_id"])
    for seed in range(2):
        shuffled = _clocks(policies, _interleave(events, seed), now)
        assert sorted((c.to_dict() for c in shuffled.values()), key=lambda r: r["ticket_id"]) == expected
    queue = [c.ticket_id for c in policies.queue(events, now=now)]
    assert queue == [c.ticket_id for c in policies.queue(_interleave(events, 7), now=now)]


def _all(from_creation, from_change, log):
    events, nows = log
    elapsed_never_decreases(from_creation, events, nows)
    a_pause_never_adds_elapsed_time(from_creation, events, nows)
    for policies in (from_creation, from_change):
        met_and_breached_are_final(policies, events, nows)
        clock_at_now_is_clock_of_the_log_cut_at_now(policies, events, nows)
        order_across_tickets_does_not_matter(policies, events, nows)


@QUICK
@given(log=logs())
def test_clock_properties(from_creation, from_change, log):
    _all(from_creation, from_change, log)


@pytest.mark.slow
@LONG
@given(log=logs())
def test_clock_properties_long(from_creation, from_change, log):
    _all(from_creation, from_change, log)


def test_a_pause_moves_time_from_elapsed_to_paused_exactly(from_creation):
    # a fixed example of the second property, readable on its own
    events = [{"ticket_id": "P", "at": "2024-04-08T09:00:00+02:00", "type": "created", "ticket": TICKETS[3]},
              {"ticket_id": "P", "at": "2024-04-08T11:00:00+02:00", "type": "status", "status": "pending"},
              {"ticket_id": "P", "at": "2024-04-09T10:00:00+02:00", "type": "status", "status": "open"}]
    now = datetime(2024, 4, 9, 12, tzinfo=CPH)
    (c,) = _clocks(from_creation, events, now).values()
    (u,) = _clocks(from_creation, _unpaused(events), now).values()
    m, n = c.metrics["first_response"], u.metrics["first_response"]
    assert (m.elapsed_us, m.paused_us, n.elapsed_us) == (4 * 3600 * 10**6, 7 * 3600 * 10**6, 11 * 3600 * 10**6)
