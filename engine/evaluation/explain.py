"""A decision explained for a support agent: rules, calendar, each due date and why."""
from __future__ import annotations

from .compiled_policy import Compiled
from .decision import Decision


def explain_lines(compiled: Compiled, decision: Decision) -> list[str]:
    day = decision.created_at.date().isoformat()
    triage = compiled.triage_at(day)
    rules = triage.rule_index
    lines = [f"ticket {decision.ticket_id}, created {decision.created_at.isoformat()}", ""]
    if decision.override:
        lines.append(f"priority {decision.priority}: set by the support team (was {decision.rules_priority} "
                     f"by the rules): {decision.override.get('reason', '')}")
    elif decision.decided_by:
        rule = rules[decision.decided_by]
        what = "table cell" if rule.kind == "cell" else "rule"
        lines.append(f"priority {decision.priority}: decided by {what} {rule.id!r}: {rule.description}")
    else:
        lines.append(f"priority {decision.priority}: no rule matched; the policy's default priority")
    if decision.matched_rules:
        lines.append("matched rules (highest priority wins, P1 highest):")
        for rule_id in decision.matched_rules:
            rule = rules[rule_id]
            mark = "*" if rule_id == decision.decided_by else " "
            lines.append(f"  {mark} {rule.priority}  {rule.id}: {rule.description}")
    else:
        lines.append("matched rules: none")
    if decision.review is not None:
        lines.append(f"review: {decision.review.describe()}")
    if decision.route is not None:
        route = rules[decision.route]
        lines.append(f"targets {decision.target_set}: routed by {decision.route!r}: {route.description}")
    else:
        lines.append(f"targets {decision.target_set}: the policy's default (no route matched)")
    cal = decision.business_calendar
    lines += ["", f"calendar {cal.name} ({cal.timezone}); business time counts only while it is open"]
    for target in decision.targets:
        lines.append(f"{target.kind} due {target.due.isoformat()}  ({target.duration} from created_at)")
        lines.extend(f"    {step}" for step in cal.explain_add(decision.created_at, target.duration))
    if decision.resolution_due is None:
        lines.append(f"resolution: no target in PriorityTargets {decision.target_set!r} (a first reply only)")
    op = decision.operator_sla
    if op is not None:
        how = "default SLA" if op.sla.default else "bound to a non-default SLA (flagged)"
        where = "" if op.location_known else " (location not listed: new locations get the default)"
        lines += ["", f"operator SLA {op.sla.id} ({op.sla.name}) for location {op.location_id}: {how}{where}",
                  f"  1st level due {op.first_level_due.isoformat()}  ({op.sla.first_level} from created_at, "
                  f"{op.timezone})",
                  f"  2nd level due {op.second_level_due.isoformat()}  ({op.sla.second_level} from "
                  f"{'escalated_at' if op.escalated else '1st-level due'})",
                  f"  total due     {op.total_due.isoformat()}  (level 1 then level 2, from created_at)"]
        if op.sla.contact:
            c = op.sla.contact
            lines.append(f"  contact: {c.get('role')} {c.get('name')} {c.get('phone', '')} {c.get('email', '')}".rstrip())
    policy = decision.policy
    lines += ["", f"policy {policy['digest'][:19]}… revision {policy['revision'] or '-'}: "
                  f"{', '.join(policy['documents'])}"]
    return lines
