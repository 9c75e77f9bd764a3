"""The result of evaluating one ticket, and how it serialises."""
from __future__ import annotations

import json
from dataclasses import dataclass
from operator import attrgetter
from datetime import datetime
from typing import Any, Callable, Mapping, NamedTuple

import orjson

from ..core.zones import whole_minute_offsets
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


_REVIEW: dict = {}    # Review -> its JSON, as a fragment
_POLICY: dict = {}    # id(policy) -> (policy, its JSON as a fragment, and as the end of a line)
_HEADS: dict = {}     # (priority, rules_priority, decided_by, matched_rules, calendar) -> their JSON in a line
_MIDDLES: dict = {}   # (targets, route, review) -> their JSON in a line
_SLA: dict = {}       # id(sla) -> (sla, its id, name and default, the JSON of its contact as a fragment)
_ZONES: dict = {}     # id(tzinfo) -> (tzinfo, whether orjson writes its datetimes as isoformat does)
_json = orjson.dumps
_Fragment = orjson.Fragment  # JSON written as is: the pieces that come from the policy are serialised once
_OPERATOR_FIELDS = attrgetter("sla", "location_id", "location_known", "flagged", "first_level_due", "second_level_due",
                              "total_due")


def _datetime_json(value: datetime) -> bytes:
    """``value`` as a JSON string, exactly ``isoformat()``'s text."""
    return _json(_datetime_value(value))


def _datetime_value(value: datetime) -> datetime | str:
    """``value`` as orjson should get it to write ``isoformat()``'s text: itself, or that text where
    its zone has an offset with seconds."""
    tz = value.tzinfo
    found = _ZONES.get(id(tz))
    if found is None or found[0] is not tz:
        found = _by_identity(_ZONES, tz, lambda: (whole_minute_offsets(tz),))
    return value if found[1] else value.isoformat()


def _operator_record(op: OperatorDeadlines) -> dict:
    """``op.to_dict()`` for orjson: the datetimes as they are (or as text), the SLA's contact as a fragment."""
    sla, location_id, known, flagged, first, second, total = _OPERATOR_FIELDS(op)
    found = _SLA.get(id(sla))
    if found is None or found[0] is not sla:
        found = _by_identity(_SLA, sla, lambda: (sla.id, sla.name, sla.default, _Fragment(_dumps(
            dict(sla.contact) if sla.contact else None))))
    zone = _ZONES.get(id(first.tzinfo))
    if zone is None or zone[0] is not first.tzinfo or not zone[1] or second.tzinfo is not first.tzinfo \
            or total.tzinfo is not first.tzinfo:  # not the common case
        first, second, total = _datetime_value(first), _datetime_value(second), _datetime_value(total)
    return {"id": found[1], "name": found[2], "default": found[3], "flagged": flagged, "location_id": location_id,
            "known_location": known, "first_level_due": first, "second_level_due": second, "total_due": total,
            "contact": found[4]}


def _review_json(review: Review | None) -> _Fragment | None:
    """The review's JSON, as a fragment (cached: reviews repeat from ticket to ticket)."""
    if review is None:
        return None
    found = _REVIEW.get(review)
    if found is None:
        found = _cached(_REVIEW, review, lambda: _Fragment(_dumps(review.to_dict())))
    return found


def _policy_pieces(policy: Mapping[str, Any]) -> tuple[_Fragment, bytes]:
    """The policy record's JSON as a fragment, and as the end of a decision's line."""
    text = _dumps({"digest": policy["digest"], "revision": policy["revision"], "documents": list(policy["documents"])})
    return _Fragment(text), b',"policy":' + text + b"}"


def _head(priority: str, rules_priority: str, decided_by: str | None, matched_rules: tuple, calendar: str) -> bytes:
    """The JSON of a decision without override from after its ticket id up to its due dates (``_HEADS``)."""
    text = _json({"priority": priority, "rules_priority": rules_priority, "decided_by": decided_by,
                  "matched_rules": matched_rules, "override": None, "calendar": calendar})
    return _cached(_HEADS, (priority, rules_priority, decided_by, matched_rules, calendar),
                   lambda: b"," + text[1:-1] + b",")


def _middle(target_set: str, route: str | None, review: Review | None) -> bytes:
    """The JSON of a decision from after its due dates up to its operator deadlines (``_MIDDLES``)."""
    text = _json({"targets": target_set, "route": route, "review": _review_json(review)})
    return _cached(_MIDDLES, (target_set, route, review), lambda: b"," + text[1:-1] + b',"operator_sla":')


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
        :meth:`to_dict`, in the same order.  The fields that come from the policy repeat from ticket
        to ticket: their JSON is made once and cached, in pieces, and only the ticket's id, its due
        dates and its operator deadlines are written per ticket, by orjson (datetimes as they are).
        A decision with an override is written by one ``orjson.dumps`` of its fields.

        A string that is not valid Unicode raises ``TypeError`` (evaluation refuses tickets with such
        text, so only a hand-built decision can have one)."""
        # one unpacking: reading a dozen fields by name costs more than the rest of the method
        (ticket_id, priority, rules_priority, decided_by, matched_rules, override, calendar, _, response, resolution,
         _, _, operator, policy, target_set, route, review, _) = self
        zone = _ZONES.get(id(response.tzinfo))
        if zone is None or zone[0] is not response.tzinfo or not zone[1] or \
                (resolution is not None and resolution.tzinfo is not response.tzinfo):  # not the common case
            response = _datetime_value(response)
            resolution = None if resolution is None else _datetime_value(resolution)
        found = _POLICY.get(id(policy))
        if found is None or found[0] is not policy:
            found = _by_identity(_POLICY, policy, lambda: _policy_pieces(policy))
        if not override:  # the common case: the fields the policy gives are written from cached pieces
            try:
                head = _HEADS.get((priority, rules_priority, decided_by, matched_rules, calendar))
                if head is None:
                    head = _head(priority, rules_priority, decided_by, matched_rules, calendar)
                middle = _MIDDLES.get((target_set, route, review))
                if middle is None:
                    middle = _middle(target_set, route, review)
            except TypeError:  # a hand-built decision with a field that cannot be a key
                pass
            else:
                return b"".join((b'{"ticket_id":', _json(ticket_id), head,
                                 _json({"response_due": response, "resolution_due": resolution})[1:-1], middle,
                                 b"null" if operator is None else _json(_operator_record(operator)), found[2]))
        return _json({"ticket_id": ticket_id, "priority": priority, "rules_priority": rules_priority,
                      "decided_by": decided_by, "matched_rules": matched_rules,
                      "override": dict(override) if override else None, "calendar": calendar,
                      "response_due": response, "resolution_due": resolution, "targets": target_set, "route": route,
                      "review": _review_json(review),
                      "operator_sla": None if operator is None else _operator_record(operator), "policy": found[1]})

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
