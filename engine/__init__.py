"""triage: support SLA policy as data.

The public API is what ``__all__`` names; every other module is private.

    from engine import PolicySet, PolicyError, TicketError
    policies = PolicySet.load("policies")
    decision = policies.evaluate(ticket_dict)
    cal = policies.calendars["partner-support"]
"""
from ._calendar import BusinessCalendar
from ._duration import Duration
from ._errors import CalendarError, DurationError, PolicyError, Problem, TicketError, TriageError
from ._policyset import PolicySet, validate
from ._format import format_policies
from ._impact import PolicySource, compare_files
from ._resources import default_policy_dir
from ._schemas import document_schema
from ._ticket_io import TicketInput, read_tickets
from ._decision import Decision
from ._editing import PolicyEditor

__all__ = [
    "PolicySet", "Decision", "BusinessCalendar", "Duration", "Problem", "read_tickets", "TicketInput",
    "TriageError", "PolicyError", "TicketError", "CalendarError", "DurationError",
    "validate", "document_schema", "format_policies", "default_policy_dir", "PolicyEditor",
    "PolicySource", "compare_files",
]
