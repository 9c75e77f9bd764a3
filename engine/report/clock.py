"""The SLA clock for a person: a table of tickets, the queue, and one ticket's timeline in words.

Times left and elapsed are business time on the calendar the metric counts on, in hours and
minutes (a business day is not 24 hours); instants are local to that calendar.
"""
from __future__ import annotations

import json
from typing import Any

from ..calendar.explain import format_elapsed, format_instant
from ..sla.clock_records import LEVELS, METRICS, MetricClock, TicketClock, Timeline

CLOCK_HEADERS = ["TICKET", "PRI", "STATUS", "FIRST RESPONSE", "RESOLUTION", "1ST LEVEL", "2ND LEVEL"]
QUEUE_HEADERS = ["#", "TICKET", "PRI", "STATUS", "NEXT DUE", "METRIC", "STATE", "TIME LEFT"]


def _short(us: int) -> str:
    """Business time rounded down to the minute: ``"3h30m"``, ``"45m"``, ``"0m"``; seconds only below a minute."""
    sign = "-" if us < 0 else ""
    us = abs(us)
    if us >= 60_000_000:
        us -= us % 60_000_000
    return sign + format_elapsed(us) if us else "0m"


def metric_cell(m: MetricClock | None) -> str:
    """One metric in a few words: ``active, 30m left (75%)``, ``met, 30m to spare``, ``BREACHED, 1h over``."""
    if m is None:
        return "-"
    left = m.remaining_us
    if m.state == "not_started":
        return "not started"
    if m.state == "breached":
        text = f"BREACHED, {_short(-left)} over" if left < 0 else "BREACHED"
        return text + (" (stopped)" if m.stopped_us is not None else "")
    if m.state == "met":
        return f"met, {_short(left)} to spare"
    warn = f" ({m.warnings[-1]:g}%)" if m.warnings else ""
    return f"{m.state}, {_short(left)} left{warn}"


def clock_rows(clocks: list[TicketClock]) -> list[list[str]]:
    rows = []
    for c in clocks:
        levels = c.levels or {}
        rows.append([c.ticket_id, c.priority, c.status, metric_cell(c.metrics.get("first_response")),
                     metric_cell(c.metrics.get("resolution")), metric_cell(levels.get("first_level")) if levels else "-",
                     metric_cell(levels.get("second_level")) if levels else "-"])
    return rows


def _next(c: TicketClock) -> MetricClock | None:
    """The metric that decides the ticket's place in the queue (earliest due among the running ones)."""
    all_paused, due = c.next_due()
    for m in c.all_metrics():
        if m.running and m.due_us == due and m.paused == all_paused:
            return m
    return None


def queue_rows(clocks: list[TicketClock]) -> list[list[str]]:
    rows = []
    for i, c in enumerate(clocks, 1):
        m = _next(c)
        if m is None:
            rows.append([str(i), c.ticket_id, c.priority, c.status, "-", "-", "-", "-"])
            continue
        left = m.remaining_us
        rows.append([str(i), c.ticket_id, c.priority, c.status, format_instant(m.due), m.name, m.state,
                     _short(left) if left >= 0 else f"{_short(-left)} over"])
    return rows


def plain_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Columns aligned with two spaces (for pipes and tests; the CLI uses rich on a terminal)."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [headers, *rows]]


# --------------------------------------------------------------------------- timeline
def metric_line(m: MetricClock) -> str:
    """Everything about one metric, in a sentence."""
    if m.state == "not_started":
        return f"{m.name:<15} not started ({m.target} from escalation)"
    text = (f"{m.name:<15} {m.state:<8} {format_elapsed(m.elapsed_us)} of {m.target} ({m.percent:g}%)")
    if m.paused_us:
        text += f", {format_elapsed(m.paused_us)} paused"
    if m.stopped_us is not None:
        text += f"; stopped {format_instant(m.stopped_at)}"
    if m.breached_us is not None:
        text += f"; breached {format_instant(m.breached_at)}"
    elif m.due_us is not None:
        text += f"; due {format_instant(m.due)}"
    if m.warnings and m.state in ("active", "paused"):
        text += f"; warning: {', '.join(f'{w:g}%' for w in m.warnings)} of the target used"
    return text


def _changed(before: MetricClock | None, after: MetricClock) -> bool:
    if before is None:
        return True
    return (before.state, before.target, before.due_us, before.stopped_us, before.breached_us, before.warnings) != \
        (after.state, after.target, after.due_us, after.stopped_us, after.breached_us, after.warnings)


def _breaches_between(before: dict, after: dict, since: int | None, until: int) -> list[str]:
    """A line for each metric whose target ran out between two events (as it happened, not retroactively)."""
    found = []
    for name, m in after.items():
        if m is None or m.breached_us is None or since is None or not since <= m.breached_us < until:
            continue
        old = before.get(name)
        if old is not None and old.breached_us != m.breached_us and old.target == m.target:
            found.append((m.breached_us, f"{format_instant(m.breached_at)}  {name} breached: its {m.target} ran out "
                                         "with the clock running"))
    return [text for _, text in sorted(found)]


def timeline_lines(timeline: Timeline) -> list[str]:
    """One ticket's clock as a story: each event with what it did and the metrics it changed, then
    every metric at now."""
    clock = timeline.clock
    lines = [f"ticket {timeline.ticket_id}"]
    if clock is not None:
        d = clock.decision
        cal = d.business_calendar
        policy = clock.clock_policy
        pauses = ", ".join(sorted(policy.pause_statuses)) or "nothing"
        lines += [f"  priority {d.priority} (rules: {d.rules_priority}); calendar {d.calendar} ({cal.timezone}): "
                  "business time counts only while it is open",
                  f"  clock: pauses on {pauses}; warnings at {', '.join(f'{w:g}%' for w in policy.warnings) or 'none'}; "
                  f"on a priority change the targets count {policy.on_priority_change.replace('_', ' ')} "
                  f"({policy.label or 'built-in defaults'})"]
    lines.append("")
    previous: dict[str, Any] = {}
    tz = clock.decision.business_calendar.tz if clock is not None else None
    since = None  # the previous applied event's instant
    for entry in timeline.entries:
        ev = entry.event
        head = f"{format_instant(ev.at.astimezone(tz) if tz else ev.at)}  line {ev.line}  {ev.type}"
        if entry.error is not None:
            lines.append(f"{head}: refused, {entry.error.field or 'event'}: {entry.error.message}")
            continue
        lines.extend(_breaches_between(previous, entry.metrics, since, ev.at_us))
        lines.append(f"{head}: {entry.note}")
        for name, m in entry.metrics.items():
            if m is not None and _changed(previous.get(name), m):
                old = previous.get(name)
                retro = since is not None and m.breached_us is not None and old is not None and \
                    old.breached_us != m.breached_us and old.target != m.target
                lines.append(f"    {metric_line(m)}" + (" (retroactively: the new target counts from creation)"
                                                          if retro else ""))
        previous, since = entry.metrics, ev.at_us
    if timeline.unread:
        lines += ["", "refused events (not applied):"]
        lines.extend(f"  {_error_text(e, who=False)}" for e in timeline.unread)
    if timeline.error is not None and not any(e.error is timeline.error for e in timeline.entries):
        lines.append(f"not clocked: {timeline.error.field or 'ticket'}: {timeline.error.message}")
    if clock is None:
        return lines
    final = {**clock.metrics, **(clock.levels or {})}
    lines.extend(_breaches_between(previous, final, since, clock.now_us + 1))
    lines += ["", f"at {format_instant(clock.now)}: status {clock.status}"]
    for name in METRICS:
        m = clock.metrics.get(name)
        lines.append(f"    {metric_line(m)}" if m is not None else f"    {name:<15} no target")
    if clock.levels is not None:
        op = clock.decision.operator_sla
        lines.append(f"  operator SLA {op.sla.id} ({op.sla.name}) for location {op.location_id}, {op.timezone}:")
        lines.extend(f"    {metric_line(clock.levels[name])}" for name in LEVELS)
    else:
        lines.append("  no operator SLA (the ticket has no location_id)")
    return lines


# --------------------------------------------------------------------------- CLI output
def _error_text(e, who: bool = True) -> str:
    where = f"line {e.line}: " if e.line is not None else ""
    who = f"ticket {e.ticket_id}: " if e.ticket_id and who else ""
    return f"{where}{who}{e.field + ': ' if e.field else ''}{e.message}"


def write_clock(items, fmt: str, out, err) -> tuple[int, int]:
    """Write ``PolicySet.clock`` results: JSON lines (error records in place), or a table on ``out``
    with the errors on ``err``.  Returns (tickets clocked, error records)."""
    clocks: list[TicketClock] = []
    clocked = failed = 0
    for item in items:
        record = item.to_dict() if fmt == "jsonl" else None
        if isinstance(item, TicketClock):
            clocked += 1
            if record is None:
                clocks.append(item)
        else:
            failed += 1
            if record is None:
                err.write(_error_text(item) + "\n")
        if record is not None:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if fmt != "jsonl":
        out.write("\n".join(plain_table(CLOCK_HEADERS, clock_rows(clocks))) + "\n")
    out.flush()
    return clocked, failed


def write_queue(items, fmt: str, out, err) -> tuple[int, int, int]:
    """Write ``PolicySet.queue`` results: the open tickets most urgent first, then the error records
    (JSON lines), or a table with the time left and the errors on ``err``.
    Returns (tickets queued, tickets solved or closed, error records)."""
    clocks = [item for item in items if isinstance(item, TicketClock)]
    errors = [item for item in items if not isinstance(item, TicketClock)]
    if fmt == "jsonl":
        for item in clocks + errors:
            out.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
    else:
        out.write("\n".join(plain_table(QUEUE_HEADERS, queue_rows(clocks))) + "\n")
        for e in errors:
            err.write(_error_text(e) + "\n")
    out.flush()
    return len(clocks), getattr(items, "done", 0), len(errors)
