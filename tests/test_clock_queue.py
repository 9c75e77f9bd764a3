"""The queue: open tickets most urgent first, the same whatever the input order; and the CLI of
`triage clock`, `triage queue` and `triage explain --events`."""
import json
import random
from datetime import datetime

import pytest

import engine
from engine import TicketClock
from cli import cli
from conftest import POLICIES

NOW = "2024-04-10T12:00:00+02:00"
P1 = {"gdpr_breach_suspected": "major"}
P2 = {"service": "charging", "symptom": "down", "customers_affected": 3, "workaround": False}
P3 = {"service": "exports", "symptom": "error_message"}
P4 = {"symptom": "question"}


def ev(ticket_id, at, type_, **fields):
    return {"ticket_id": ticket_id, "at": at, "type": type_, **fields}


MIXED = [
    # P1: breached response (due 11:00) before a ticket whose resolution is due 14:30
    ev("Q-P1-late", "2024-04-10T09:00:00+02:00", "created", ticket=P1),
    ev("Q-P1-replied", "2024-04-10T10:30:00+02:00", "created", ticket=P1),
    ev("Q-P1-replied", "2024-04-10T10:45:00+02:00", "agent_reply"),
    # P2: response due 13:00; raised from P4, response due 13:30 (from creation); resolution next week;
    # all running metrics paused (pending) goes last of the P2s, though its due is the earliest
    ev("Q-P2-new", "2024-04-10T09:00:00+02:00", "created", ticket=P2),
    ev("Q-P2-raised", "2024-04-10T09:30:00+02:00", "created", ticket=P4),
    ev("Q-P2-raised", "2024-04-10T10:00:00+02:00", "priority", priority="P2", reason="partner on the phone"),
    ev("Q-P2-replied", "2024-04-09T09:00:00+02:00", "created", ticket=P2),
    ev("Q-P2-replied", "2024-04-09T09:30:00+02:00", "agent_reply"),
    ev("Q-P2-waiting", "2024-04-08T09:00:00+02:00", "created", ticket=P2),
    ev("Q-P2-waiting", "2024-04-08T09:10:00+02:00", "agent_reply"),
    ev("Q-P2-waiting", "2024-04-09T09:00:00+02:00", "status", status="pending"),
    # P3: created over the weekend, so all three are due Tuesday 17:00 (breached); then created_at, then id
    ev("Q-P3-b", "2024-04-07T10:00:00+02:00", "created", ticket=P3),
    ev("Q-P3-z", "2024-04-06T10:00:00+02:00", "created", ticket=P3),
    ev("Q-P3-a", "2024-04-07T10:00:00+02:00", "created", ticket=P3),
    # P4: the operator's 12 h (dc-hub) due tonight beats a 5-business-day response
    ev("Q-P4-plain", "2024-04-10T08:00:00+02:00", "created", ticket=P4),
    ev("Q-P4-site", "2024-04-10T09:00:00+02:00", "created", ticket={**P4, "location_id": "loc-aarhus-harbour"}),
    # not in the queue
    ev("Q-solved", "2024-04-10T09:00:00+02:00", "created", ticket=P1),
    ev("Q-solved", "2024-04-10T09:30:00+02:00", "status", status="solved"),
    ev("Q-closed", "2024-04-09T09:00:00+02:00", "created", ticket=P2),
    ev("Q-closed", "2024-04-09T10:00:00+02:00", "status", status="closed"),
    # reopened: back in
    ev("Q-P4-reopened", "2024-04-09T09:00:00+02:00", "created", ticket=P4),
    ev("Q-P4-reopened", "2024-04-09T10:00:00+02:00", "status", status="solved"),
    ev("Q-P4-reopened", "2024-04-10T09:00:00+02:00", "status", status="open"),
]
EXPECTED = ["Q-P1-late", "Q-P1-replied", "Q-P2-new", "Q-P2-raised", "Q-P2-replied", "Q-P2-waiting",
            "Q-P3-z", "Q-P3-a", "Q-P3-b", "Q-P4-site", "Q-P4-reopened", "Q-P4-plain"]


@pytest.fixture(scope="module")
def policies():
    return engine.PolicySet.load(POLICIES)


def _shuffled(seed):
    """The log shuffled across tickets; each ticket's own events keep their relative order (ties in
    ``at`` are resolved by input order, which is part of the log's meaning)."""
    rng = random.Random(seed)
    order = list(range(len(MIXED)))
    rng.shuffle(order)
    per_ticket = {}
    for i in range(len(MIXED)):
        per_ticket.setdefault(MIXED[i]["ticket_id"], []).append(MIXED[i])
    out = []
    for i in order:
        out.append(per_ticket[MIXED[i]["ticket_id"]].pop(0))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_queue_order_whatever_the_input_order(policies, seed):
    log = MIXED if seed == 0 else _shuffled(seed)
    queue = policies.queue(log, now=datetime.fromisoformat(NOW))
    assert [c.ticket_id for c in queue] == EXPECTED
    assert queue.done == 2
    assert all(isinstance(c, TicketClock) and c.is_open for c in queue)


def test_queue_keys_explained(policies):
    queue = {c.ticket_id: c for c in policies.queue(MIXED, now=datetime.fromisoformat(NOW))}
    assert queue["Q-P2-waiting"].next_due()[0] is True           # all running metrics paused
    assert queue["Q-P2-raised"].priority == "P2"
    due = {t: queue[t].next_due()[1] for t in ("Q-P3-z", "Q-P3-a", "Q-P3-b")}
    assert len(set(due.values())) == 1                            # a tie, broken by created_at then id
    site = queue["Q-P4-site"]
    assert site.levels["first_level"].due == datetime.fromisoformat("2024-04-10T21:00:00+02:00")


def test_queue_same_records_as_clock(policies):
    now = datetime.fromisoformat(NOW)
    clocked = {c.ticket_id: c.to_dict() for c in policies.clock(MIXED, now=now)}
    for c in policies.queue(MIXED, now=now):
        assert c.to_dict() == clocked[c.ticket_id]


# --------------------------------------------------------------------------- CLI
@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(e) for e in MIXED]
    lines.insert(3, '{"ticket_id": "Q-P1-late", "at": "2024-04-10T09:05:00+02:00", "type": "status", '
                    '"status": "waiting"}')
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_clock_jsonl(runner, log_file):
    result = runner.invoke(cli, ["clock", str(log_file), "--now", NOW, "--policies", str(POLICIES)])
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    errors = [r for r in records if "error" in r]
    assert errors == [{"line": 4, "ticket_id": "Q-P1-late", "event": "status", "field": "status",
                       "error": "unknown status string 'waiting' (one of open, pending, on_hold, solved, closed)"}]
    assert len(records) == 15 and records[0]["ticket_id"] == "Q-P1-late"
    assert result.stderr.strip() == "clocked=14 failed=1"


def test_cli_clock_text(runner, log_file):
    result = runner.invoke(cli, ["clock", str(log_file), "--now", NOW, "--format", "text"])
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TICKET", "PRI", "STATUS", "FIRST", "RESPONSE", "RESOLUTION", "1ST", "LEVEL", "2ND",
                                "LEVEL"]
    row = next(line for line in lines if line.startswith("Q-P1-late "))
    assert "BREACHED, 1h over" in row and "active, 1h left (75%)" in row
    assert "line 4: ticket Q-P1-late: status: unknown status" in result.stderr


def test_cli_queue(runner, log_file):
    result = runner.invoke(cli, ["queue", str(log_file), "--now", NOW])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["ticket_id"] for r in records[:-1]] == EXPECTED and "error" in records[-1]
    assert result.stderr.strip() == "queued=12 solved=2 failed=1" and result.exit_code == 1
    text = runner.invoke(cli, ["queue", str(log_file), "--now", NOW, "--format", "text"])
    rows = text.stdout.splitlines()
    assert rows[0].split() == ["#", "TICKET", "PRI", "STATUS", "NEXT", "DUE", "METRIC", "STATE", "TIME", "LEFT"]
    assert rows[1].split()[:3] == ["1", "Q-P1-late", "P1"] and rows[1].endswith("1h over")
    assert "Wed 2024-04-10 13:00 CEST  first_response  active    1h" in rows[3]


def test_cli_queue_from_stdin_and_clean_exit(runner):
    text = "".join(json.dumps(e) + "\n" for e in MIXED)
    result = runner.invoke(cli, ["queue", "-", "--now", NOW], input=text)
    assert result.exit_code == 0 and result.stderr.strip() == "queued=12 solved=2 failed=0"


def test_cli_now_needs_an_offset(runner, log_file):
    result = runner.invoke(cli, ["clock", str(log_file), "--now", "2024-04-10T12:00:00"])
    assert result.exit_code == 2 and "has no UTC offset" in result.stderr


def test_cli_explain_events(runner, log_file):
    result = runner.invoke(cli, ["explain", "--events", str(log_file), "Q-P2-raised", "--now", NOW])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "priority P2 (rules: P4)" in out
    assert "line 7  priority: re-prioritised by the team to P2: partner on the phone; priority P4 -> P2" in out
    assert "first_response  active   30m of 4 business_hours (12.5%); due Wed 2024-04-10 13:30 CEST" in out
    unknown = runner.invoke(cli, ["explain", "--events", str(log_file), "Q-P2-rased", "--now", NOW])
    assert unknown.exit_code == 1 and "did you mean 'Q-P2-raised'?" in unknown.stderr


def test_cli_explain_events_tells_a_refused_event(runner, log_file):
    result = runner.invoke(cli, ["explain", "--events", str(log_file), "Q-P1-late", "--now", NOW])
    assert "refused events (not applied):\n  line 4: status: unknown status string 'waiting'" in result.stdout
    assert "Wed 2024-04-10 11:00 CEST  first_response breached: its 2 business_hours ran out" in result.stdout
