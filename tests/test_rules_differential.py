"""Differential tests: durable-rules (memo off and on) vs the pure-Python oracle.

Hypothesis generates policies (facts of every type, conditions of depth <= 4
with every operator, 1-30 rules) and batches of tickets whose values sit on and
around the thresholds.  The durable side runs in a watchdog worker process, so
a hang or a crash in the C core fails the test instead of stalling CI.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracle
from conftest import examples
from _watchdog import DurableWorker
from engine.rules.compiler import build_rules
from engine.rules.conditions import evaluate
from engine.facts.validator import validate_ticket
from engine.facts.vocabulary import parse_facts

EXAMPLES = examples(1000)
REQUEST_TIMEOUT = 20.0
BASE = datetime(2024, 3, 31, 0, 30, tzinfo=timezone.utc)
TYPES = ("string", "integer", "number", "boolean", "datetime", "enum", "override")
INT_POOL = (-3, -1, 0, 1, 2, 5, 10, 2**63, -(10**20))
NUM_POOL = (-2.5, -1, 0, 0.1, 0.5, 1, 2.5, 10, 10.0, 1e300, 1e-300, 123456789.125)
ENUM_POOL = ("a", "b", "c", "d e", "É", "x\"y")
STR_POOL = ("", "a", "b", "ab", "A", "é", "x\x00y", "a\\b", "q\"", "\ud7ff")
PATTERNS = ("^a", "b$", "a|b", "^$", "[0-9]", "é", "^a.*b$", "\\x00")
OFFSETS = (timedelta(0), timedelta(hours=2), timedelta(hours=-5, minutes=-30))


class Workers:
    """A worker that is restarted after a crash or a timeout (so shrinking keeps working)."""

    def __init__(self):
        self.worker = DurableWorker()

    def request(self, payload):
        if self.worker.proc.poll() is not None:
            self.worker.close()
            self.worker = DurableWorker()
        return self.worker.request(payload, timeout=REQUEST_TIMEOUT)

    def close(self):
        self.worker.close()


@pytest.fixture(scope="module")
def workers():
    pool = Workers()
    yield pool
    pool.close()


# --------------------------------------------------------------------------- strategies


def rfc3339(instant: datetime, offset: timedelta) -> str:
    local = instant.astimezone(timezone(offset))
    text = local.isoformat()
    return text.replace("+00:00", "Z") if offset == timedelta(0) else text


@st.composite
def fact_pools(draw):
    """Fact declarations plus, per fact, the values conditions may compare with."""
    kinds = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=6))
    spec = {"id": {"type": "string", "required": True}, "created_at": {"type": "datetime", "required": True}}
    pools = {"created_at": ("datetime", draw(st.lists(st.integers(-4, 4), min_size=1, max_size=3, unique=True)))}
    for i, kind in enumerate(kinds):
        name = f"f{i}_{kind}"
        decl = {"type": kind}
        if kind == "integer":
            pool = draw(st.lists(st.sampled_from(INT_POOL), min_size=1, max_size=4, unique=True))
        elif kind == "number":
            pool = draw(st.lists(st.sampled_from(NUM_POOL), min_size=1, max_size=4, unique=True))
        elif kind == "datetime":
            pool = draw(st.lists(st.integers(-4, 4), min_size=1, max_size=3, unique=True))
        elif kind == "enum":
            decl["values"] = list(draw(st.lists(st.sampled_from(ENUM_POOL), min_size=1, max_size=4, unique=True)))
            pool = decl["values"]
        elif kind == "string":
            pool = draw(st.lists(st.sampled_from(STR_POOL), min_size=1, max_size=4, unique=True))
        elif kind == "boolean":
            pool = [True, False]
        else:
            pool = []
        spec[name] = decl
        pools[name] = (kind, pool)
    return spec, pools


def _threshold(draw, kind, pool):
    if kind == "datetime":
        return rfc3339(BASE + timedelta(hours=draw(st.sampled_from(pool))), draw(st.sampled_from(OFFSETS)))
    return draw(st.sampled_from(pool))


def _ops_for(kind):
    return {
        "string": ("eq", "ne", "in", "not_in", "matches", "exists"),
        "enum": ("eq", "ne", "in", "not_in", "exists"),
        "boolean": ("eq", "ne", "exists"),
        "integer": ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists"),
        "number": ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists"),
        "datetime": ("gt", "gte", "lt", "lte", "exists"),
        "override": ("exists",),
    }[kind]


def _fact_test(draw, pools):
    name = draw(st.sampled_from(sorted(pools)))
    kind, pool = pools[name]
    ops = _ops_for(kind)
    if "eq" in ops and draw(st.booleans()) and draw(st.booleans()):
        return name, _threshold(draw, kind, pool)  # equality shorthand
    spec = {}
    for op in draw(st.lists(st.sampled_from(ops), min_size=1, max_size=2, unique=True)):
        if op == "exists":
            spec[op] = draw(st.booleans())
        elif op == "matches":
            spec[op] = draw(st.sampled_from(PATTERNS))
        elif op in ("in", "not_in"):
            spec[op] = [_threshold(draw, kind, pool) for _ in range(draw(st.integers(1, 3)))]
        else:
            spec[op] = _threshold(draw, kind, pool)
    return name, spec


def conditions(draw, pools, depth):
    choice = draw(st.integers(0, 9)) if depth < 4 else 9
    if choice <= 1:
        return {"all": [conditions(draw, pools, depth + 1) for _ in range(draw(st.integers(1, 3)))]}
    if choice <= 3:
        return {"any": [conditions(draw, pools, depth + 1) for _ in range(draw(st.integers(1, 3)))]}
    if choice == 4:
        return {"not": conditions(draw, pools, depth + 1)}
    node = {}
    for _ in range(draw(st.integers(1, 2))):
        name, spec = _fact_test(draw, pools)
        node.setdefault(name, spec)
    return node


def ticket_value(draw, kind, pool):
    if kind == "integer":
        base = draw(st.sampled_from(pool or [0]))
        return base + draw(st.sampled_from((-1, 0, 0, 1)))
    if kind == "number":
        base = float(draw(st.sampled_from(pool or [0])))
        how = draw(st.sampled_from(("same", "same", "up", "down", "int", "plus")))
        if how == "up":
            return math.nextafter(base, math.inf)
        if how == "down":
            return math.nextafter(base, -math.inf)
        if how == "int" and base.is_integer() and abs(base) < 2**53:
            return int(base)
        if how == "plus":
            return base + 0.25
        return base
    if kind == "datetime":
        hours = draw(st.sampled_from(pool or [0]))
        nudge = draw(st.sampled_from((timedelta(0), timedelta(0), timedelta(microseconds=1),
                                      -timedelta(microseconds=1), timedelta(seconds=1))))
        return rfc3339(BASE + timedelta(hours=hours) + nudge, draw(st.sampled_from(OFFSETS)))
    if kind == "enum":
        return draw(st.sampled_from(pool))
    if kind == "string":
        return draw(st.sampled_from(tuple(pool) + ("zz", "abc", "b1", "É")))
    if kind == "boolean":
        return draw(st.booleans())
    return {"priority": draw(st.sampled_from(("P1", "P2", "P3", "P4"))), "reason": "support decided"}


@st.composite
def cases(draw):
    spec, pools = draw(fact_pools())
    rules = []
    for i in range(draw(st.integers(1, 30))):
        rules.append({"id": f"r{i}", "description": "generated", "priority": draw(st.sampled_from(("P1", "P4"))),
                      "when": conditions(draw, pools, 1)})
    tickets = []
    for k in range(draw(st.integers(1, 8))):
        ticket = {"id": f"T{k}", "created_at": ticket_value(draw, "datetime", pools["created_at"][1])}
        for name, (kind, pool) in pools.items():
            if name != "created_at" and draw(st.integers(0, 2)) > 0:
                ticket[name] = ticket_value(draw, kind, pool)
        tickets.append(ticket)
    return spec, rules, tickets


# --------------------------------------------------------------------------- tests


def check_case(workers, spec, rules, tickets):
    answer = workers.request({"op": "evaluate", "facts": spec, "rules": rules, "tickets": tickets})
    assert all(p.endswith("(at most 64); split it into several rules or simplify nested any/not")
               or "tests (at most 64)" in p for p in answer["problems"]), answer["problems"]
    kept = [r for i, r in enumerate(rules) if i not in set(answer["rejected"])]
    types = {name: decl["type"] for name, decl in spec.items()}
    facts = parse_facts(spec)
    defs, _ = build_rules(kept, facts)
    fused = 0
    for raw, row in zip(tickets, answer["results"]):
        assert "error" not in row, row
        expected = oracle.matched(kept, raw, types)
        ticket = validate_ticket(raw, facts)
        assert [d.id for d in defs if evaluate(d.condition, ticket) is True] == expected, raw
        assert row["off"] == expected, (raw, kept)
        assert row["on"] == expected, (raw, kept)
        assert row["on_again"] == expected, (raw, kept)
        assert row.get("fused") in (None, [True, expected]), (raw, kept)
        fused += row.get("fused") is not None
    assert answer["stray"] == 0
    return len(kept), fused


@pytest.mark.slow
def test_durable_agrees_with_oracle(workers):
    seen = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(case=cases())
    def check(case):
        seen.append(check_case(workers, *case))

    check()
    assert len(seen) >= EXAMPLES
    assert sum(kept for kept, _ in seen) >= EXAMPLES * 5  # most generated rules were evaluated, not rejected
    assert sum(fused for _, fused in seen) >= EXAMPLES  # the fused path took many of the tickets


def test_rejections_are_rare_but_real(workers):
    spec = {"id": {"type": "string", "required": True}, "created_at": {"type": "datetime", "required": True},
            "n": {"type": "integer"}}
    huge = {"all": [{"any": [{"n": i}, {"n": {"gt": i}}]} for i in range(7)]}
    rules = [{"id": "ok", "description": "", "priority": "P1", "when": {"n": 1}},
             {"id": "huge", "description": "", "priority": "P1", "when": huge}]
    answer = workers.request({"op": "evaluate", "facts": spec, "rules": rules,
                              "tickets": [{"id": "T", "created_at": "2024-01-01T00:00:00Z", "n": 1}]})
    assert answer["rejected"] == [1]
    assert answer["results"][0]["off"] == ["ok"]


@pytest.mark.slow
def test_eight_threads_get_identical_results(workers):
    spec = {"id": {"type": "string", "required": True}, "created_at": {"type": "datetime", "required": True},
            "n": {"type": "integer"}, "s": {"type": "enum", "values": ["a", "b", "c"]}, "w": {"type": "boolean"}}
    rules = [{"id": f"r{i}", "description": "", "priority": "P2",
              "when": {"any": [{"n": {"gte": i}}, {"all": [{"s": "abc"[i % 3]}, {"not": {"w": True}}]}]}}
             for i in range(40)]
    tickets = [{"id": f"T{k}", "created_at": "2024-01-01T00:00:00Z", "n": k % 45, "s": "abc"[k % 3],
                **({"w": bool(k % 2)} if k % 5 else {})} for k in range(150)]
    types = {name: decl["type"] for name, decl in spec.items()}
    expected = [oracle.matched(rules, t, types) for t in tickets]
    # memo_size 3: the answers outgrow a generation of memos again and again, while 8 threads look up
    for memo_size in (0, 3, 65536):
        answer = workers.request({"op": "threads", "facts": spec, "rules": rules, "tickets": tickets,
                                  "threads": 8, "rounds": 2, "memo_size": memo_size})
        assert answer["errors"] == []
        assert answer["stray"] == 0
        for output in answer["outputs"]:
            assert output == [expected, expected]
