"""The result of evaluating one ticket, and how it serialises."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, NamedTuple

from ..rules.review import Review
from ..sla.operator import OperatorDeadlines


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
