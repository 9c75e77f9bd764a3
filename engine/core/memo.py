"""Bounded memos: the per-ticket caches whose keys come from input, so they must not grow without end.

Each memo is a plain ``dict``, read at full dict speed (``memo.get(key)``,
``memo[key]``) on the hot path; only a miss stores, through :func:`remember`,
which first empties the dict when it holds ``limit`` entries.  Emptying is
cheaper than LRU bookkeeping on every hit, and a full memo refills from the
next misses.  Values are pure functions of their keys, so a lost entry only
costs its recomputation.

Every memo that uses it, with its key and bound:

=====================================================  ===================================  ================
memo                                                   key                                  bound
=====================================================  ===================================  ================
``engine.calendar.index._OFFSETS_US``                  a fixed-offset ``timezone``          4,096
``BusinessCalendar._resolved`` (calendar.business)     ``(duration, negate)``               4,096 per calendar
``BusinessCalendar._resolved_many``                    ``id()`` of a tuple of durations     4,096 per calendar
``OperatorBook._prepared`` (sla.operator)              a ticket's ``location_id``           65,536 per book
``Memos.rulesets`` (rules.memos)                       a ruleset's classes of a signature   ``memo_size`` (65,536) each
``Memos.mask_ids``                                     bit mask of the fired rules          ``memo_size`` (65,536)
``Memos.joined``                                       every ruleset's answer number        ``memo_size`` (65,536)
``Evaluator._plans`` (evaluation.evaluator)            a ticket's ``created_at`` date       8,192
``engine.sla.events._DAYS``                            an event's ``at`` date part          65,536
``engine.sla.events._MINUTES``                         its separator, hours and minutes     65,536
``engine.sla.events._SECONDS``                         its seconds and offset               65,536
``SLAClock._ends`` (sla.clock)                         ``(year index, now)``                4,096 per clock
``Evaluator`` outcomes, one per plan (a ``_Plan``)     matched rule ids                     65,536 each
=====================================================  ===================================  ================

(``lru_cache``\\ s elsewhere key on policy data, not on tickets.)
"""
from __future__ import annotations

from typing import TypeVar

V = TypeVar("V")


def remember(memo: dict, key: object, value: V, limit: int) -> V:
    """Store ``memo[key] = value`` and return ``value``; empty ``memo`` first if it already holds
    ``limit`` entries (so it never holds more than ``max(limit, 1)``)."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value
