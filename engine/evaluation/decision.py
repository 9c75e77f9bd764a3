"""The result of evaluating one ticket, and how it serialises."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, NamedTuple

import orjson

from ..rules.review import Review
from ..sla.operator import OperatorDeadlines

_PIECES_LIMIT = 4096  # cached JSON pieces per kind: they come from the policy (rules, calendars, targets, SLAs)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _cached(cache: dict, key: Any, make: Callable[[], bytes]) -> bytes:
    found = cache.get(key)
    if found is None:
        if len(cache) >= _PIECES_LIMIT:
            cache.clear()
        found = cache[key] = make()
    return found


def _by_identity(cache: dict, obj: Any, make: Callable[[], tuple]) -> tuple:
    """``(obj, *make())``, cached by ``obj``'s identity (the entry keeps ``obj``, so its id is not reused)."""
    found = cache.get(id(obj))
    if found is None or found[0] is not obj:
        if len(cache) >= _PIECES_LIMIT:
            cache.clear()
        found = cache[id(obj)] = (obj, *make())
    return found


def _whole_minute_offsets(tz: Any) -> bool:
    """Whether every UTC offset of ``tz`` from 1970 to 2100 is whole minutes (sampled weekly: the
    offsets with seconds, local mean times, lasted years).  orjson writes an offset rounded to the
    minute; ``isoformat`` with its seconds, as Africa/Monrovia's -00:44:30 until 1972."""
    if tz is None:
        return True
    for seconds in range(0, 4_133_980_800, 7 * 86_400):
        offset = datetime.fromtimestamp(seconds, tz).utcoffset()
        if offset is not None and offset.seconds % 60:
            return False
    return True


_RULES: dict = {}     # (priority, rules_priority, decided_by, matched_rules) -> their JSON members
_CALENDAR: dict = {}  # calendar -> its JSON member and the key of response_due
_ROUTE: dict = {}     # (targets, route) -> their JSON members and the key of review
_REVIEW: dict = {}    # Review -> its JSON
_POLICY: dict = {}    # id(policy) -> (policy, its JSON)
_SLA: dict = {}       # id(sla) -> (sla, its JSON members before "flagged", the JSON of its contact)
_ZONES: dict = {}     # id(tzinfo) -> (tzinfo, whether orjson writes its datetimes as isoformat does)
_json = orjson.dumps


def _datetime_json(value: datetime) -> bytes:
    """``value`` as a JSON string, exactly ``isoformat()``'s text."""
    tz = value.tzinfo
    found = _ZONES.get(id(tz))
    if found is None or found[0] is not tz:
        found = _by_identity(_ZONES, tz, lambda: (_whole_minute_offsets(tz),))
    return _json(value) if found[1] else b'"' + value.isoformat().encode("ascii") + b'"'


def _operator_json(op: OperatorDeadlines) -> bytes:
    """``op.to_dict()`` as JSON, with the SLA's own members cached."""
    sla = op.sla
    _, head, contact = _by_identity(_SLA, sla, lambda: (
        b'{"id":%b,"name":%b,"default":%b,"flagged":' % (_json(sla.id), _json(sla.name), _json(sla.default)),
        _dumps(dict(sla.contact) if sla.contact else None)))
    return b'%b%b,"location_id":%b,"known_location":%b,"first_level_due":%b,"second_level_due":%b,' \
           b'"total_due":%b,"contact":%b}' % (
               head, b"true" if op.flagged else b"false", _json(op.location_id),
               b"true" if op.location_known else b"false", _datetime_json(op.first_level_due),
               _datetime_json(op.second_level_due), _datetime_json(op.total_due), contact)


@dataclass(frozen=True)
class Target:
    """How one due date was computed: the duration, on which calendar."""

    kind: str          # "response" | "resolution"
    duration: str      # e.g. "4 business_hours"
    calendar: str
    due: datetime


class Decision(NamedTuple):
    """Priority and due dates of one ticket, with everything needed to explain them.

    ``priority`` is the final priority (the override's, if any); ``rules_priority``
    is what the rules gave.  Due dates are aware datetimes in the calendar's zone,
    counted from the ticket's ``created_at``.  Immutable (a named tuple: one is
    built per ticket, and a tuple is the cheapest immutable record to build).
    """

    ticket_id: str
    priority: str
    rules_priority: str
    decided_by: str | None            # the rule that gave rules_priority; None = default_priority
    matched_rules: tuple[str, ...]    # every matching rule, in policy order
    override: Mapping[str, str] | None
    calendar: str
    created_at: datetime
    response_due: datetime
    resolution_due: datetime | None   # None when the targets promise a first reply only
    response_target: str              # the durations they were counted with, e.g. "4 business_hours"
    resolution_target: str | None
    operator_sla: OperatorDeadlines | None
    policy: Mapping[str, Any]         # digest, revision, documents used
    target_set: str = ""              # the PriorityTargets (channel) the due dates come from
    route: str | None = None          # the route that picked it; None = the policy's default targets
    review: Review | None = None      # a higher priority the ticket could deserve, and the facts that would tell
    business_calendar: Any = None     # the BusinessCalendar the due dates were counted on

    @property
    def targets(self) -> tuple[Target, ...]:
        """Each due date with the duration and calendar it was counted on (response, then resolution if any)."""
        out = (Target("response", self.response_target, self.calendar, self.response_due),)
        if self.resolution_due is not None:
            out += (Target("resolution", self.resolution_target, self.calendar, self.resolution_due),)
        return out

    def status_at(self, now: datetime) -> dict:
        """SLA status at ``now``: per target, whether it is breached and the business time left
        (negative once breached), counted on the decision's calendar."""
        out: dict = {"now": now.astimezone(self.response_due.tzinfo).isoformat()}
        for target in self.targets:
            left = self.business_calendar.between(now, target.due)
            out[f"{target.kind}_breached"] = now > target.due
            out[f"{target.kind}_business_seconds_left"] = int(left.total_seconds())
        if self.operator_sla is not None:
            out["operator_total_breached"] = now > self.operator_sla.total_due
        return out

    def to_json(self) -> bytes:
        """The decision as one line of compact JSON, UTF-8, without the newline: the values of
        :meth:`to_dict`, in the same order, assembled as bytes from pieces cached per rule outcome,
        calendar, route, review, SLA and policy record (they repeat from ticket to ticket).

        A string that is not valid Unicode raises ``TypeError`` (evaluation refuses tickets with such
        text, so only a hand-built decision can have one)."""
        key = (self.priority, self.rules_priority, self.decided_by, self.matched_rules)
        rules = _RULES.get(key)
        if rules is None:
            rules = _cached(_RULES, key, lambda: b'"priority":%b,"rules_priority":%b,"decided_by":%b,"matched_rules":%b' % (
                _json(self.priority), _json(self.rules_priority), _json(self.decided_by), _json(self.matched_rules)))
        calendar = _CALENDAR.get(self.calendar)
        if calendar is None:
            calendar = _cached(_CALENDAR, self.calendar, lambda: b',"calendar":%b,"response_due":' % _json(self.calendar))
        key = (self.target_set, self.route)
        route = _ROUTE.get(key)
        if route is None:
            route = _cached(_ROUTE, key, lambda: b',"targets":%b,"route":%b,"review":' % (
                _json(self.target_set), _json(self.route)))
        review = self.review
        if review is None:
            review_json = b"null"
        else:
            review_json = _REVIEW.get(review)
            if review_json is None:
                review_json = _cached(_REVIEW, review, lambda: _dumps(review.to_dict()))
        policy = self.policy
        found = _POLICY.get(id(policy))
        if found is None or found[0] is not policy:
            found = _by_identity(_POLICY, policy, lambda: (_dumps(
                {"digest": policy["digest"], "revision": policy["revision"], "documents": list(policy["documents"])}),))
        response, resolution = self.response_due, self.resolution_due
        zone = _ZONES.get(id(response.tzinfo))
        if zone is not None and zone[0] is response.tzinfo and zone[1] and \
                (resolution is None or resolution.tzinfo is response.tzinfo):  # the common case, inline
            response_json = _json(response)
            resolution_json = b"null" if resolution is None else _json(resolution)
        else:
            response_json = _datetime_json(response)
            resolution_json = b"null" if resolution is None else _datetime_json(resolution)
        override = self.override
        return b'{"ticket_id":%b,%b,"override":%b%b%b,"resolution_due":%b%b%b,"operator_sla":%b,"policy":%b}' % (
            _json(self.ticket_id), rules, _json(dict(override)) if override else b"null", calendar,
            response_json, resolution_json, route, review_json,
            b"null" if self.operator_sla is None else _operator_json(self.operator_sla), found[1])

    def to_dict(self) -> dict:
        """The decision as ``triage evaluate`` prints it (JSON-ready; datetimes ISO 8601 with offset)."""
        return {
            "ticket_id": self.ticket_id,
            "priority": self.priority,
            "rules_priority": self.rules_priority,
            "decided_by": self.decided_by,
            "matched_rules": list(self.matched_rules),
            "override": dict(self.override) if self.override else None,
            "calendar": self.calendar,
            "response_due": self.response_due.isoformat(),
            "resolution_due": self.resolution_due.isoformat() if self.resolution_due is not None else None,
            "targets": self.target_set,
            "route": self.route,
            "review": self.review.to_dict() if self.review is not None else None,
            "operator_sla": self.operator_sla.to_dict() if self.operator_sla else None,
            "policy": {"digest": self.policy["digest"], "revision": self.policy["revision"],
                       "documents": list(self.policy["documents"])},
        }
