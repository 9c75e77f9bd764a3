"""Business calendars for people: durations in hours, a readable week, upcoming holidays."""
from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..calendar.business import BusinessCalendar


def format_timedelta(delta: timedelta) -> str:
    """Hours and minutes, never days (a business day is not 24 h): ``"26h30m (95400 s)"``."""
    seconds = delta.total_seconds()
    sign = "-" if seconds < 0 else ""
    whole = int(abs(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h{minutes:02d}m" + (f"{secs:02d}s" if secs else "")
    return f"{sign}{text} ({seconds:g} s)"


def holiday_lines(cal: BusinessCalendar, year: int) -> list[str]:
    """One ``YYYY-MM-DD name`` line per holiday of ``year``, in date order."""
    return [f"{day.isoformat()} {title}" for day, title in cal.holidays(year).items()]


def describe_calendar(cal: BusinessCalendar, count: int, since: date) -> list[str]:
    """A readable week, special hours, then the next ``count`` holidays from ``since`` (included).

    Holidays are looked up at most five years ahead and not past the calendar's supported years.
    """
    lines = [f"{cal.name}  ({cal.timezone}; one business day = {format_timedelta(cal.business_day).split()[0]})"]
    for day, intervals in cal.weekly_hours().items():
        lines.append(f"  {day}  {', '.join(intervals) if intervals else 'closed'}")
    special = [(d, v) for d, v in cal.special_hours().items() if d >= since][:count]
    if special:
        lines.append("special hours:")
        lines.extend(f"  {d.isoformat()}  {', '.join(h) or 'closed'}  {title}" for d, (h, title) in special)
    lines.append("next holidays:")
    upcoming: list[tuple[date, str]] = []
    year = since.year
    while len(upcoming) < count and year <= min(since.year + 5, cal.years[1]):
        upcoming.extend((d, t) for d, t in cal.holidays(year).items() if d >= since)
        year += 1
    lines.extend(f"  {d.isoformat()} {d.strftime('%a')}  {t}" for d, t in upcoming[:count])
    if not upcoming:
        lines.append("  none")
    return lines
