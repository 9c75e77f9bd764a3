"""triage: support SLA policy as data.

The public API is what ``__all__`` names; every other module is private.

    from engine import PolicySet, PolicyError, TicketError
    policies = PolicySet.load("policies")
    decision = policies.evaluate(ticket_dict)
    cal = policies.calendars["partner-support"]
"""
from .calendar.business import BusinessCalendar
from .calendar.duration import Duration
from .core.errors import CalendarError, DurationError, PolicyError, Problem, TicketError, TriageError
from .policyset import PolicySet, PolicySource, validate
from .tooling.fmt import format_policies
from .tooling.impact import compare_files
from .core.resources import default_policy_dir
from .policy.schemas import document_schema
from .facts.reader import FORMATS as INPUT_FORMATS, TicketInput, format_for as input_format_for, read_tickets
from .evaluation.decision import Decision
from .tooling.editing import PolicyEditor

__all__ = [
    "PolicySet", "Decision", "BusinessCalendar", "Duration", "Problem", "read_tickets", "TicketInput",
    "input_format_for", "INPUT_FORMATS",
    "TriageError", "PolicyError", "TicketError", "CalendarError", "DurationError",
    "validate", "document_schema", "format_policies", "default_policy_dir", "PolicyEditor",
    "PolicySource", "compare_files",
]

# The SLA clock over a ticket's life (PolicySet.clock / .queue / .explain_clock)
from .sla.clock import MetricClock, TicketClock  # noqa: E402
from .sla.events import EventError  # noqa: E402

__all__ += ["TicketClock", "MetricClock", "EventError"]
