"""The years from which a count of business time surely succeeds, so that it can be skipped."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Callable

from ..core.errors import CalendarError

NONE_SURE = (0, -1)  # no year: every count must be tried


def sure_years(first: int, last: int, count_from: Callable[[datetime], Any]) -> tuple[int, int]:
    """``(low, high)``: the years of the instants from which ``count_from`` surely succeeds, given the
    supported years ``first``..``last``: two years from either end (a local year is within a day of the
    UTC one), if counting from the start of year ``last - 1`` succeeds (counting forward from an earlier
    start never ends later); else ``NONE_SURE``."""
    if last - first < 5:
        return NONE_SURE
    try:
        count_from(datetime(last - 1, 1, 1, tzinfo=UTC))
    except (CalendarError, OverflowError):
        return NONE_SURE
    return first + 2, last - 3
