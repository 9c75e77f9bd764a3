"""Human-readable accounts of business-time arithmetic, for the ``explain`` command.

``cal`` below is a :class:`~engine.calendar.business.BusinessCalendar`.  This module does not
import it: the calendar imports this one for :meth:`BusinessCalendar.explain_add`, and reads
only the calendar's public methods.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from .duration import Duration

MAX_LINES = 400
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def format_elapsed(delta: timedelta | int) -> str:
    """``timedelta`` or microseconds as ``"1h"``, ``"1h30m"``, ``"45m"``, ``"2m30.5s"``, ``"0s"``."""
    us = delta if isinstance(delta, int) else delta // timedelta(microseconds=1)
    sign = "-" if us < 0 else ""
    us = abs(us)
    hours, rest = divmod(us, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micros = divmod(rest, 1_000_000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if seconds or micros:
        parts.append(f"{seconds}.{micros:06d}".rstrip("0").rstrip(".") + "s")
    return sign + ("".join(parts) or "0s")


def format_instant(t: datetime) -> str:
    text = t.strftime("%a %Y-%m-%d %H:%M")
    if t.second or t.microsecond:
        text += t.strftime(":%S") + (f".{t.microsecond:06d}".rstrip("0") if t.microsecond else "")
    return f"{text} {t.tzname()}"


def _clock(t: datetime, day: date) -> str:
    return "24:00" if t.date() > day and t.hour == 0 and t.minute == 0 else t.strftime("%H:%M")


def explain_add(cal, start: datetime, duration: str | Duration) -> list[str]:
    """Lines explaining ``cal.add(start, duration)``, ending with the result."""
    parsed = duration if isinstance(duration, Duration) else Duration.parse(duration)
    result = cal.add(start, parsed)
    local = start.astimezone(cal.tz)
    lines = [f"start {format_instant(local)} ({cal.timezone}), calendar {cal.name!r}"]
    if not parsed.is_business:
        if parsed.unit == "days":
            lines.append(f"{parsed} keeps the wall-clock time ({local.strftime('%H:%M')})")
            if result.time().replace(fold=0) != local.time().replace(fold=0):
                lines.append("the wall-clock time falls in a DST gap and moves forward by the gap")
        else:
            lines.append(f"{parsed} is elapsed time, not business time")
        lines.append(f"result {format_instant(result)}")
        return lines

    amount = abs(parsed).microseconds(cal.business_day // timedelta(microseconds=1))
    detail = f" (1 business day = {format_elapsed(cal.business_day)})" if parsed.unit == "business_days" else ""
    verb = "adding" if parsed.amount >= 0 else "subtracting"
    lines.append(f"{verb} {abs(parsed)} = {format_elapsed(amount)} of business time{detail}")
    if parsed.amount > 0 and not cal.is_open(start):
        lines.append(f"closed at the start; the clock starts at {format_instant(cal.next_open(start))}")
    lo, hi = sorted((local, result))
    lines.extend(_walk(cal, lo, hi))
    lines.append(f"{'deadline' if parsed.amount >= 0 else 'result'} {format_instant(result)}")
    return lines


def _walk(cal, lo: datetime, hi: datetime) -> list[str]:
    # Arithmetic in UTC: aware datetimes sharing a tzinfo subtract and compare on
    # the wall clock, which is wrong across DST.
    lo_utc, hi_utc = lo.astimezone(timezone.utc), hi.astimezone(timezone.utc)
    lines: list[str] = []
    running = timedelta(0)
    closed_run: list[date] = []

    def flush() -> None:
        if closed_run:
            first, last = closed_run[0], closed_run[-1]
            span = _day(first) if first == last else f"{_day(first)} - {_day(last)}"
            lines.append(f"{span} closed (no opening hours)")
            closed_run.clear()

    day, last_day = lo.date(), hi.date()
    while day <= last_day:
        if len(lines) >= MAX_LINES:
            lines.append(f"... ({(last_day - day).days + 1} more days not shown)")
            break
        intervals = [(s.astimezone(timezone.utc), e.astimezone(timezone.utc)) for s, e in cal.open_intervals(day)]
        reason = cal.closed_reason(day)
        if not intervals:
            if reason is None:
                closed_run.append(day)
            else:
                flush()
                lines.append(f"{_day(day)} closed: {reason}")
            day += timedelta(days=1)
            continue
        parts = []
        for s, e in intervals:
            s, e = max(s, lo_utc), min(e, hi_utc)
            if s < e:
                running += e - s
                span = f"{_clock(s.astimezone(cal.tz), day)}-{_clock(e.astimezone(cal.tz), day)}"
                parts.append(f"{span} {format_elapsed(e - s)}")
        if parts:
            flush()
            note = f" [{reason}]" if reason else ""
            elapsed = sum(((e - s) for s, e in intervals), timedelta(0))
            wall = timedelta(minutes=sum(b - a for a, b in cal.day_hours(day)))
            if elapsed != wall:
                note += f" [DST change: {format_elapsed(wall)} on the clock is {format_elapsed(elapsed)} elapsed]"
            lines.append(f"{_day(day)} {', '.join(parts)} (total {format_elapsed(running)}){note}")
        day += timedelta(days=1)
    flush()
    return lines


def _day(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.isoformat()}"
