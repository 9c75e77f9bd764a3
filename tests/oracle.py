"""A tiny reference evaluator of the condition language, used only by tests.

It reads the raw YAML/JSON ``when`` and a raw JSON ticket directly and shares
no code with ``engine``: Kleene three-valued logic, True / False / None.

* a test of an absent fact is None (unknown), except ``exists``;
* ``all``: False if any False, else None if any None, else True; ``any`` dual;
  ``not`` keeps None;
* numbers compare by value, datetimes as instants, ``matches`` is an RE2 search
  (``re2.search`` on the UTF-8 text, as the engine documents).
"""
from __future__ import annotations

from datetime import datetime

import re2


def _instant(value):
    if isinstance(value, datetime):
        return value
    text = value.replace("Z", "+00:00").replace("z", "+00:00")
    text = text[:10] + "T" + text[11:]
    return datetime.fromisoformat(text)


def _scalar(value, ftype):
    return _instant(value) if ftype == "datetime" else value


def _all(values):
    values = list(values)
    if False in values:
        return False
    if None in values:
        return None
    return True


def _any(values):
    values = list(values)
    if True in values:
        return True
    if None in values:
        return None
    return False


def _test(op, arg, ticket, name, ftype):
    if op == "exists":
        return (name in ticket) == arg
    if name not in ticket:
        return None
    x = _scalar(ticket[name], ftype)
    if op == "matches":
        return re2.search(arg.encode("utf-8", "surrogatepass"), x.encode("utf-8", "surrogatepass")) is not None
    if op in ("in", "not_in"):
        found = any(x == _scalar(a, ftype) for a in arg)
        return found if op == "in" else not found
    y = _scalar(arg, ftype)
    return {
        "eq": lambda: x == y,
        "ne": lambda: x != y,
        "gt": lambda: x > y,
        "gte": lambda: x >= y,
        "lt": lambda: x < y,
        "lte": lambda: x <= y,
    }[op]()


def evaluate(when, ticket: dict, types: dict):
    """Kleene value of ``when`` for a raw ticket; ``types`` maps fact -> type name."""
    if "all" in when:
        return _all(evaluate(c, ticket, types) for c in when["all"])
    if "any" in when:
        return _any(evaluate(c, ticket, types) for c in when["any"])
    if "not" in when:
        inner = evaluate(when["not"], ticket, types)
        return None if inner is None else not inner
    parts = []
    for name, spec in when.items():
        if isinstance(spec, dict):
            parts.extend(_test(op, arg, ticket, name, types[name]) for op, arg in spec.items())
        else:
            parts.append(_test("eq", spec, ticket, name, types[name]))
    return _all(parts)


def matched(rules: list, ticket: dict, types: dict) -> list:
    """Ids of the rules whose ``when`` is True, in list order."""
    return [r["id"] for r in rules if evaluate(r["when"], ticket, types) is True]
