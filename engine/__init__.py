"""triage: support SLA policy as data.

The public API is what ``__all__`` names; every other module is private.

    from engine import PolicySet, PolicyError, TicketError
    policies = PolicySet.load("policies")
    decision = policies.evaluate(ticket_dict)
    cal = policies.calendars["partner-support"]

The names for editing, formatting, comparing and the SLA clock are imported on first use
(``__getattr__`` below): evaluating never needs them, and ``triage evaluate`` starts sooner.
"""
from .calendar.business import BusinessCalendar
from .calendar.duration import Duration
from .core.errors import CalendarError, DurationError, PolicyError, Problem, TicketError, TriageError
from .policyset import PolicySet, PolicySource, validate
from .core.resources import default_policy_dir
from .policy.schemas import document_schema
from .facts.reader import FORMATS as INPUT_FORMATS, TicketInput, format_for as input_format_for, \
    read_ticket_batches, read_tickets
from .evaluation.decision import Decision

__all__ = [
    "PolicySet", "Decision", "BusinessCalendar", "Duration", "Problem", "read_tickets", "TicketInput",
    "read_ticket_batches", "input_format_for", "INPUT_FORMATS",
    "TriageError", "PolicyError", "TicketError", "CalendarError", "DurationError",
    "validate", "document_schema", "format_policies", "default_policy_dir", "PolicyEditor",
    "PolicySource", "compare_files",
]

# The SLA clock over a ticket's life (PolicySet.clock / .queue / .explain_clock)
__all__ += ["TicketClock", "MetricClock", "EventError"]


def __getattr__(name: str):
    """The names imported on first use; each is then bound here like the others."""
    if name == "format_policies":
        from .tooling.fmt import format_policies as value
    elif name == "compare_files":
        from .tooling.impact import compare_files as value
    elif name == "PolicyEditor":
        from .tooling.editing import PolicyEditor as value
    elif name in ("TicketClock", "MetricClock"):
        from .sla import clock
        value = getattr(clock, name)
    elif name == "EventError":
        from .sla.events import EventError as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
