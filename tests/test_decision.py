"""Decision.to_json: the bytes ``triage evaluate`` writes hold exactly the values of Decision.to_dict."""
import json
import random
import sys
import zoneinfo
from datetime import datetime, timedelta, timezone

import pytest

from engine import Decision, PolicySet, TicketError
from engine.evaluation.decision import _datetime_json
from conftest import EXAMPLES, POLICIES, ROOT

sys.path.insert(0, str(ROOT / "bench"))
from _gen import make_tickets  # noqa: E402

CREATED = "2024-03-27T16:00:00+01:00"


@pytest.fixture(scope="module")
def policies():
    return PolicySet.load(POLICIES)


def _same(decision: Decision) -> None:
    data = decision.to_json()
    assert json.loads(data) == decision.to_dict()
    assert list(json.loads(data)) == list(decision.to_dict())  # same order of fields
    assert b"\n" not in data


def test_every_example_ticket(policies):
    for line in (EXAMPLES / "tickets.jsonl").read_text().splitlines():
        _same(policies.evaluate(json.loads(line)))


def test_generated_tickets_with_every_kind_of_decision(policies):
    seen = {"operator_sla": 0, "override": 0, "review": 0, "null resolution": 0, "escalated": 0, "route": 0}
    for ticket in make_tickets(3000, seed=11):
        try:
            decision = policies.evaluate(ticket)
        except TicketError:
            continue
        _same(decision)
        seen["operator_sla"] += decision.operator_sla is not None
        seen["override"] += decision.override is not None
        seen["review"] += decision.review is not None
        seen["null resolution"] += decision.resolution_due is None
        seen["escalated"] += decision.operator_sla is not None and decision.operator_sla.escalated
        seen["route"] += decision.route is not None
    assert all(seen.values()), seen


def test_text_that_needs_escaping(policies):
    ticket = {"id": 'T-"quoted"\\ \u2028 æ😀 \x7f', "created_at": CREATED, "location_id": 'loc-"x"\n',
              "priority_override": {"priority": "P2", "reason": 'said "now"\t\u0001'}}
    _same(policies.evaluate(ticket))


def test_a_datetime_is_written_as_isoformat_writes_it():
    """orjson rounds an offset with seconds to the minute: a zone that has one (Africa/Monrovia was
    -00:44:30 until 1972) is written with isoformat."""
    rng = random.Random(5)
    zones = ["Africa/Monrovia", "Europe/Copenhagen", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe",
             "Pacific/Chatham", "Asia/Kathmandu", "UTC"] + rng.sample(sorted(zoneinfo.available_timezones()), 12)
    for name in zones:
        tz = zoneinfo.ZoneInfo(name)
        for _ in range(50):
            value = datetime.fromtimestamp(rng.uniform(0, 4_133_894_400), tz)
            if rng.random() < 0.5:
                value = value.replace(microsecond=0)
            assert _datetime_json(value) == b'"%s"' % value.isoformat().encode()
    monrovia = datetime(1971, 6, 1, 12, tzinfo=zoneinfo.ZoneInfo("Africa/Monrovia"))
    assert _datetime_json(monrovia) == b'"1971-06-01T12:00:00-00:44:30"'
    for tz in (timezone.utc, timezone(timedelta(hours=-3, minutes=-30)), None):
        value = datetime(2024, 4, 2, 12, 0, 0, 5, tzinfo=tz)
        assert _datetime_json(value) == b'"%s"' % value.isoformat().encode()


def test_a_hand_built_decision_in_a_zone_with_second_offsets(policies):
    decision = policies.evaluate({"id": "T-1", "created_at": CREATED})
    tz = zoneinfo.ZoneInfo("Africa/Monrovia")
    _same(decision._replace(response_due=datetime(1971, 3, 1, 9, tzinfo=tz),
                            resolution_due=datetime(1971, 3, 2, 9, tzinfo=tz)))


def test_pieces_are_cached_by_identity_not_by_address(policies):
    """The policy record is cached by identity: another mapping with other values never gets its JSON."""
    decision = policies.evaluate({"id": "T-1", "created_at": CREATED})
    _same(decision)
    other = dict(decision.policy, digest="sha256:other")
    _same(decision._replace(policy=other))
    assert json.loads(decision._replace(policy=other).to_json())["policy"]["digest"] == "sha256:other"


def test_text_that_is_not_valid_unicode_cannot_be_written(policies):
    decision = policies.evaluate({"id": "T-1", "created_at": CREATED})
    with pytest.raises(TypeError):
        decision._replace(ticket_id="\ud800").to_json()


def test_pieces_cached_by_value_belong_to_their_values(policies):
    """The JSON around a decision's own fields is cached by the values it holds: decisions that differ
    in any of them (rules, calendar, targets, route, review) each get their own, and a field that
    cannot be a key (a list) is written as well."""
    decision = policies.evaluate({"id": "T-1", "created_at": CREATED})
    variants = [decision._replace(priority="P1"), decision._replace(decided_by="other-rule"),
                decision._replace(matched_rules=("a", "b")), decision._replace(calendar="elsewhere"),
                decision._replace(target_set="channel"), decision._replace(route="route-1"),
                decision._replace(matched_rules=["a", "b"]), decision]
    for variant in variants + variants:  # the second time from the cache
        _same(variant)
    review = next(d.review for d in policies.evaluate_many(make_tickets(500, seed=3))
                  if isinstance(d, Decision) and d.review is not None)
    _same(decision._replace(review=review))
    _same(decision._replace(review=review._replace(missing=("extent",))))
