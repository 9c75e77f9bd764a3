"""triage: support SLA policy as data (public API)."""
from ._errors import CalendarError, DurationError, PolicyError, Problem, TicketError, TriageError

__all__ = ["TriageError", "PolicyError", "TicketError", "CalendarError", "DurationError", "Problem"]
