"""The SLA clock as a picture: an SVG timeline of one decision, or of one ticket's event log.

From the local day of ``created_at`` to the day of the last due date (or last event), one column
per calendar day of the decision's calendar: open hours as bands, weekends and holidays shaded
*and* named, DST changes marked, and each due date a labelled marker.  For an event-log
:class:`~engine.sla.clock_records.Timeline` it also draws pauses, stops, replies and status changes.

Every element a reader (or a test) looks for has a stable class and ``data-*`` attributes, e.g.
``<g class="holiday" data-name="Good Friday" data-date="2024-03-29">`` and
``<g class="due" data-metric="first_response" data-at="...">``.  Output is deterministic (same input,
same bytes), and every piece of text is escaped: ticket ids and statuses come from outside.
Colour is never the only signal: shaded days carry their names, markers their labels, and the
bands a hatching and a legend.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, NamedTuple

from ..calendar.explain import format_instant
from ..core.errors import TriageError

MAX_DAYS = 400          # a longer span is cut there, and the picture says so
LEFT = 112              # room for the lane labels
_TOP = 50               # below the day headings
_LANE = 26              # height of a lane
_ROW = 16               # height of a marker's label row
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_METRIC_OF = {"response": "first_response", "resolution": "resolution"}
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_STYLE = """
.triage-timeline { font-family: system-ui, sans-serif; font-size: 11px; }
.triage-timeline .day-bg { fill: #ffffff; stroke: #d0d0d0; stroke-width: 0.5; }
.triage-timeline .weekend .day-bg { fill: url(#triage-hatch-light); }
.triage-timeline .holiday .day-bg, .triage-timeline .special .day-bg { fill: url(#triage-hatch); }
.triage-timeline .open rect { fill: #2e7d32; }
.triage-timeline .pause rect { fill: url(#triage-dots); stroke: #b26a00; }
.triage-timeline .stopped rect { fill: #9e9e9e; }
.triage-timeline .due line { stroke: #b71c1c; stroke-width: 2; }
.triage-timeline .due path { fill: #b71c1c; }
.triage-timeline .due.met line { stroke: #1b5e20; }
.triage-timeline .due.met path { fill: #1b5e20; }
.triage-timeline .created line, .triage-timeline .now line { stroke: #0d47a1; stroke-width: 2; }
.triage-timeline .now line { stroke-dasharray: 2 2; }
.triage-timeline .dst line { stroke: #6a1b9a; stroke-width: 1.5; stroke-dasharray: 6 3; }
.triage-timeline .event line { stroke: #263238; stroke-width: 1.5; }
.triage-timeline .lane-label, .triage-timeline .day-label { fill: #212121; }
.triage-timeline .name { fill: #4a148c; font-weight: 600; }
.triage-timeline .marker-label { fill: #212121; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
"""

_DEFS = (
    '<defs>'
    '<pattern id="triage-hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="8" height="8" fill="#ede7f6"/><line x1="0" y1="0" x2="0" y2="8" stroke="#9575cd" stroke-width="3"/>'
    '</pattern>'
    '<pattern id="triage-hatch-light" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="8" height="8" fill="#f5f5f5"/><line x1="0" y1="0" x2="0" y2="8" stroke="#cfcfcf" stroke-width="2"/>'
    '</pattern>'
    '<pattern id="triage-dots" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" fill="#ffe0b2"/><circle cx="3" cy="3" r="1.3" fill="#b26a00"/>'
    '</pattern>'
    '</defs>'
)


class Marker(NamedTuple):
    """A vertical line at an instant, with a label on a row of its own under the picture."""

    kind: str            # class: created | due | dst | now
    at: datetime
    label: str
    attrs: dict


class Span(NamedTuple):
    """A band in the clock lane: a pause, or a stop (solved/closed)."""

    kind: str            # class: pause | stopped
    start: datetime
    end: datetime
    status: str


class Tick(NamedTuple):
    """An event of the log, drawn as a short line in the clock lane."""

    at: datetime
    type: str
    text: str


def text(value: Any) -> str:
    """``value`` as XML text or attribute content: escaped, and without characters XML forbids."""
    import html  # here: only an SVG needs it

    return html.escape(_INVALID_XML.sub("\ufffd", str(value)), quote=True)


def _attrs(values: dict) -> str:
    return "".join(f' {name}="{text(value)}"' for name, value in values.items())


# --------------------------------------------------------------------------- what to draw
def decision_markers(decision) -> list[Marker]:
    """``created_at`` and each due date of a decision (operator levels too, if it has an SLA)."""
    tz = decision.business_calendar.tz
    markers = [Marker("created", decision.created_at.astimezone(tz),
                      f"created {format_instant(decision.created_at.astimezone(tz))}", {})]
    for target in decision.targets:
        metric = _METRIC_OF.get(target.kind, target.kind)
        markers.append(Marker("due", target.due, f"{target.kind} due {format_instant(target.due)} ({target.duration})",
                              {"data-metric": metric, "data-target": target.duration}))
    op = decision.operator_sla
    if op is not None:
        for metric, due, duration in (("first_level", op.first_level_due, op.sla.first_level),
                                      ("second_level", op.second_level_due, op.sla.second_level)):
            markers.append(Marker("due", due, f"operator {metric.replace('_', ' ')} due {format_instant(due)} "
                                              f"({duration}, {op.timezone})",
                                  {"data-metric": metric, "data-target": duration}))
    return markers


def clock_markers(clock) -> list[Marker]:
    """Each metric of a ticket's clock at ``now``: where it was met, breached, or falls due."""
    created = clock.created_at.astimezone(clock.decision.business_calendar.tz)
    markers = [Marker("created", created, f"created {format_instant(created)}", {})]
    for m in clock.all_metrics():
        if m.breached_us is not None:
            at, what = m.breached_at, "breached"
        elif m.stopped_us is not None and m.state == "met":
            at, what = m.stopped_at, "met"
        elif m.due_us is not None:
            at, what = m.due, "due"
        else:
            continue
        markers.append(Marker("due", at, f"{m.name} {what} {format_instant(at)} ({m.target}, {m.state})",
                              {"data-metric": m.name, "data-state": m.state, "data-target": m.target}))
    return markers


def clock_events(timeline, tz) -> tuple[list[Tick], list[Span]]:
    """The applied events of a timeline as ticks, and the pauses and stops between them."""
    clock = timeline.clock
    pause = clock.clock_policy.pause_statuses if clock is not None else frozenset()
    end = clock.now if clock is not None else None
    ticks: list[Tick] = []
    spans: list[Span] = []
    status, since = "open", None
    for entry in timeline.entries:
        if entry.error is not None:
            continue
        ev = entry.event
        at = ev.at.astimezone(tz)
        detail = ev.data.get("status") or ev.data.get("priority") or ""
        ticks.append(Tick(at, ev.type, f"{format_instant(at)} {ev.type}{' ' + str(detail) if detail else ''}: "
                                       f"{entry.note or ''}".rstrip(": ")))
        if ev.type == "status" and ev.data.get("status") != status:
            spans.extend(_span(status, since, at, pause))
            status, since = ev.data["status"], at
    if end is not None:
        spans.extend(_span(status, since, end.astimezone(tz), pause))
    return ticks, spans


def _span(status: str, since: datetime | None, until: datetime, pause) -> list[Span]:
    if since is None or until <= since:
        return []
    if status in pause:
        return [Span("pause", since, until, status)]
    if status in ("solved", "closed"):
        return [Span("stopped", since, until, status)]
    return []


def dst_markers(tz, first: date, last: date) -> list[Marker]:
    """A marker at each change of the zone's UTC offset between the days (to the hour it happens)."""
    found = []
    day = first
    while day <= last:
        start = _midnight(day, tz)
        end = _midnight(day + timedelta(days=1), tz)
        before, after = start.utcoffset(), end.astimezone(tz).utcoffset()
        if before != after:
            at = start.astimezone(timezone.utc)
            while at.astimezone(tz).utcoffset() == before and at < end:
                at += timedelta(minutes=15)
            local = at.astimezone(tz)
            names = f"{(at - timedelta(minutes=15)).astimezone(tz).tzname()} to {local.tzname()}"
            shift = "forward" if after > before else "back"
            found.append(Marker("dst", local, f"DST change {format_instant(local)}: clocks go {shift}, {names}",
                                {"data-from": _offset(before), "data-to": _offset(after)}))
        day += timedelta(days=1)
    return found


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _midnight(day: date, tz) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def day_kind(cal, day: date) -> tuple[str, str | None]:
    """``(class, name)`` of a day: ``holiday``/``special`` with its name, ``weekend`` or ``closed``
    with the weekday's name, or ``workday`` without a name."""
    special = cal.special_hours().get(day)
    if special is not None:
        return "special", special[1]
    holiday = cal.holidays(day.year).get(day)
    if holiday is not None:
        return "holiday", holiday
    if not cal.open_intervals(day):
        return ("weekend" if day.weekday() >= 5 else "closed"), _WEEKDAYS[day.weekday()]
    return "workday", None


# --------------------------------------------------------------------------- drawing
class _Scale:
    """Local days to columns; within a day, x is proportional to elapsed time (a DST day is 23 or 25 h)."""

    def __init__(self, tz, first: date, days: int, width: float):
        self.tz, self.first, self.days, self.width = tz, first, days, width

    def x(self, t: datetime) -> float:
        local = t.astimezone(self.tz)
        index = (local.date() - self.first).days
        if index < 0:
            return LEFT
        if index >= self.days:
            return LEFT + self.days * self.width
        day = local.date()
        start, end = _midnight(day, self.tz), _midnight(day + timedelta(days=1), self.tz)
        fraction = (t - start) / (end - start)
        return LEFT + (index + fraction) * self.width


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def render_svg(cal, title: str, markers: list[Marker], ticks: list[Tick] = (), spans: list[Span] = (),
               now: datetime | None = None) -> str:
    """The picture from what :func:`decision_markers`/:func:`clock_markers` and :func:`clock_events` give."""
    tz = cal.tz
    instants = [m.at for m in markers] + [t.at for t in ticks]  # a span still open at now is clipped
    first = min(instants).astimezone(tz).date()
    last = max(instants).astimezone(tz).date()
    cut = (last - first).days + 1 > MAX_DAYS
    if cut:
        last = first + timedelta(days=MAX_DAYS - 1)
    days = (last - first).days + 1
    width = 100.0 if days <= 14 else max(24.0, 1400.0 / days)
    scale = _Scale(tz, first, days, width)
    markers = markers + dst_markers(tz, first, last)
    if now is not None and now.astimezone(tz).date() <= last:
        markers.append(Marker("now", now, f"now {format_instant(now.astimezone(tz))}", {}))
    markers = sorted((m for m in markers if m.at.astimezone(tz).date() <= last),
                     key=lambda m: (m.at, m.kind, m.label))

    has_clock = bool(ticks or spans)
    lanes_bottom = _TOP + 8 + _LANE * (2 if has_clock else 1)
    names_bottom = lanes_bottom + (70 if width >= 60 else 124)  # names across a wide column, along a narrow one
    rows_top = names_bottom + 14
    legend_y = rows_top + _ROW * len(markers) + 14
    total_w = LEFT + days * width + 16
    total_h = legend_y + 28 + (16 if cut else 0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="triage-timeline" role="img" '
           f'aria-labelledby="triage-timeline-title triage-timeline-desc" viewBox="0 0 {_num(total_w)} {_num(total_h)}" '
           f'width="{_num(total_w)}" height="{_num(total_h)}"'
           f'{_attrs({"data-calendar": cal.name, "data-timezone": cal.timezone, "data-first-day": first.isoformat(), "data-last-day": last.isoformat()})}>',
           f'<title id="triage-timeline-title">{text(title)}</title>',
           f'<desc id="triage-timeline-desc">{text(_describe(cal, first, last, markers))}</desc>',
           f'<style>{_STYLE}</style>', _DEFS]

    # days: background, heading, and the name of a shaded day
    for i in range(days):
        day = first + timedelta(days=i)
        kind, name = day_kind(cal, day)
        x = LEFT + i * width
        attrs = {"data-date": day.isoformat(), "data-kind": kind}
        if name is not None:
            attrs["data-name"] = name
        out.append(f'<g class="day {kind}"{_attrs(attrs)}>')
        out.append(f'<rect class="day-bg" x="{_num(x)}" y="{_TOP}" width="{_num(width)}" '
                   f'height="{names_bottom - _TOP}"/>')
        out.append(f'<text class="day-label" x="{_num(x + width / 2)}" y="18" text-anchor="middle">'
                   f'{text(day.strftime("%a"))}</text>')
        out.append(f'<text class="day-label" x="{_num(x + width / 2)}" y="34" text-anchor="middle">'
                   f'{text(day.strftime("%d %b") if width >= 40 else day.strftime("%d"))}</text>')
        if name is not None:
            out.append(_name(name, x, width, lanes_bottom + 4, names_bottom - 4))
        out.append('</g>')

    # lanes
    y_open = _TOP + 8
    out.append(f'<text class="lane-label" x="4" y="{y_open + 16}">open hours</text>')
    out.append('<g class="open-hours">')
    for i in range(days):
        day = first + timedelta(days=i)
        for start, end in cal.open_intervals(day):
            x0, x1 = scale.x(start), scale.x(end)
            label = f"open {format_instant(start)} to {format_instant(end)}"
            out.append(f'<g class="open"{_attrs({"data-start": start.isoformat(), "data-end": end.isoformat()})}>'
                       f'<title>{text(label)}</title>'
                       f'<rect x="{_num(x0)}" y="{y_open}" width="{_num(max(x1 - x0, 0.5))}" height="{_LANE - 6}"/></g>')
    out.append('</g>')
    if has_clock:
        y_clock = y_open + _LANE
        out.append(f'<text class="lane-label" x="4" y="{y_clock + 16}">ticket status</text>')
        for span in spans:
            x0, x1 = scale.x(span.start), scale.x(span.end)
            label = f"{'paused' if span.kind == 'pause' else 'stopped'}: {span.status}"
            out.append(f'<g class="{span.kind}"{_attrs({"data-status": span.status, "data-start": span.start.isoformat(), "data-end": span.end.isoformat()})}>'
                       f'<title>{text(f"{label} from {format_instant(span.start)} to {format_instant(span.end)}")}</title>'
                       f'<rect x="{_num(x0)}" y="{y_clock}" width="{_num(max(x1 - x0, 0.5))}" height="{_LANE - 6}"/>'
                       + (f'<text x="{_num(x0 + 3)}" y="{y_clock + 14}">{text(label)}</text>' if x1 - x0 > 70 else "")
                       + '</g>')
        for tick in ticks:
            x = scale.x(tick.at)
            out.append(f'<g class="event"{_attrs({"data-type": tick.type, "data-at": tick.at.isoformat()})}>'
                       f'<title>{text(tick.text)}</title>'
                       f'<line x1="{_num(x)}" y1="{y_clock - 3}" x2="{_num(x)}" y2="{y_clock + _LANE - 3}"/></g>')

    # markers: a line through the picture, and a label row each; drawn last row first, so that each
    # label (with its white halo) covers the lines of the later markers that pass through its row
    for row, m in reversed(list(enumerate(markers))):
        x = scale.x(m.at)
        y_label = rows_top + row * _ROW
        attrs = {**m.attrs, "data-at": m.at.isoformat()}
        state = m.attrs.get("data-state")
        cls = f"{m.kind} {state}" if state in ("met", "breached") else m.kind
        anchor = "end" if x > total_w * 0.6 else "start"
        dx = -4 if anchor == "end" else 4
        out.append(f'<g class="{cls}"{_attrs(attrs)}><title>{text(m.label)}</title>'
                   f'<line x1="{_num(x)}" y1="{_TOP}" x2="{_num(x)}" y2="{_num(y_label - 4)}"/>'
                   + (f'<path d="M{_num(x - 5)},{_TOP} h10 l-5,8 z"/>' if m.kind == "due" else "")
                   + f'<text class="marker-label" x="{_num(x + dx)}" y="{_num(y_label)}" text-anchor="{anchor}">'
                   f'{text(_symbol(m.kind) + " " + m.label)}</text></g>')

    out.append(_legend(legend_y, has_clock))
    if cut:
        out.append(f'<text class="cut" x="4" y="{_num(legend_y + 36)}">{text(f"cut after {MAX_DAYS} days: the last due date is later")}</text>')
    out.append('</svg>')
    return "\n".join(out) + "\n"


def _symbol(kind: str) -> str:
    return {"due": "\u25bc", "created": "\u25b6", "dst": "\u21c4", "now": "\u25cf"}.get(kind, "")


def _name(name: str, x: float, width: float, y: float, bottom: float) -> str:
    """A shaded day's name: across the column in words when it is wide, else upright along it."""
    if width >= 60:
        words, lines, line = name.split(), [], ""
        for word in words:
            if line and len(line) + 1 + len(word) > width / 7.5:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
        spans = "".join(f'<tspan x="{_num(x + width / 2)}" dy="{0 if i == 0 else 13}">{text(part)}</tspan>'
                        for i, part in enumerate(lines[:5]))
        return f'<text class="name" x="{_num(x + width / 2)}" y="{_num(y + 12)}" text-anchor="middle">{spans}</text>'
    cx, cy = x + width / 2 + 4, bottom
    short = name if len(name) <= 20 else name[:19] + "\u2026"
    return (f'<text class="name" x="{_num(cx)}" y="{_num(cy)}" transform="rotate(-90 {_num(cx)} {_num(cy)})">'
            f'<title>{text(name)}</title>{text(short)}</text>')


def _legend(y: float, has_clock: bool) -> str:
    items = [("open", "open hours"), ("weekend", "weekend / closed"), ("holiday", "holiday / special hours")]
    if has_clock:
        items.append(("pause", "paused"))
    parts = [f'<g class="legend" transform="translate(4 {_num(y)})">']
    x = 0
    fills = {"open": "#2e7d32", "weekend": "url(#triage-hatch-light)", "holiday": "url(#triage-hatch)",
             "pause": "url(#triage-dots)"}
    for key, label in items:
        parts.append(f'<rect x="{x}" y="0" width="18" height="12" fill="{fills[key]}" stroke="#757575" stroke-width="0.5"/>'
                     f'<text x="{x + 24}" y="10">{text(label)}</text>')
        x += 40 + len(label) * 6
    symbols = "  ".join(f"{_symbol(kind)} {label}" for kind, label in (("due", "due"), ("dst", "DST change"),
                                                                       ("created", "created"), ("now", "now")))
    parts.append(f'<text x="{x}" y="10">{text(symbols)}</text>')
    parts.append('</g>')
    return "".join(parts)


def _describe(cal, first: date, last: date, markers: list[Marker]) -> str:
    shaded = []
    day = first
    while day <= last:
        kind, name = day_kind(cal, day)
        if kind in ("holiday", "special"):
            shaded.append(f"{name} ({day.isoformat()})")
        day += timedelta(days=1)
    parts = [f"calendar {cal.name} ({cal.timezone}), {first.isoformat()} to {last.isoformat()}"]
    parts += [m.label for m in markers]
    if shaded:
        parts.append("holidays: " + ", ".join(shaded))
    return "; ".join(parts)


# --------------------------------------------------------------------------- entry points
def decision_svg(decision) -> str:
    """The SVG timeline of one decision: created_at to the last due date on its calendar."""
    title = f"ticket {decision.ticket_id}: {decision.priority}, calendar {decision.calendar}"
    return render_svg(decision.business_calendar, title, decision_markers(decision))


def timeline_svg(timeline) -> str:
    """The SVG timeline of one ticket's event log (a ``PolicySet.clock_timeline`` result): the
    decision's calendar with pauses, stops, events and every metric's due, met or breached instant."""
    clock = timeline.clock
    if clock is None:
        why = f": {timeline.error.field or 'event'}: {timeline.error.message}" if timeline.error is not None else ""
        raise TriageError(f"ticket {timeline.ticket_id} could not be clocked{why}")
    cal = clock.decision.business_calendar
    ticks, spans = clock_events(timeline, cal.tz)
    title = f"ticket {timeline.ticket_id}: {clock.priority}, status {clock.status}, calendar {clock.decision.calendar}"
    return render_svg(cal, title, clock_markers(clock), ticks, spans, now=clock.now)
