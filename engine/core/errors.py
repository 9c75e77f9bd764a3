"""One error root for the library, with details kept as fields.

``TriageError`` is the root.  ``PolicyError`` is raised at load time and carries
*every* problem found; ``TicketError`` is raised at evaluation time for bad
ticket input and carries every bad field.  Nothing else (no bare ``KeyError``
or ``TypeError``) is meant to reach a caller.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

from .suggest import hint

ERROR = "error"
WARNING = "warning"


def format_path(path: Iterable[Any]) -> str:
    """Render a document path as ``spec.priorities.P2.resolution`` / ``rules[3].when``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class Problem:
    """One finding of a check.

    Checks yield problems with a ``path`` inside their document; the loader adds
    ``file``, ``line`` and ``col`` (both 1-based) from the YAML node marks.

    ``text`` says what is wrong; ``suggestion`` is what to write instead (a close
    valid spelling, found with :func:`engine.core.suggest.did_you_mean`, or a fix).
    ``message`` is the text with the suggestion rendered after it as ``"; did you
    mean 'x'?"``, unless ``show_suggestion`` is false (the text already says what
    to write, in its own words).  This is the one place a Problem's suggestion is
    rendered.
    """

    text: str
    path: tuple = ()
    severity: str = ERROR
    suggestion: str | None = None
    file: str | None = None
    line: int | None = None
    col: int | None = None
    rule_id: str | None = None
    field: str | None = None
    on_key: bool = False  # the problem is the mapping key at ``path``, not its value
    show_suggestion: bool = True

    @property
    def message(self) -> str:
        """What is wrong, with the suggestion (if shown): ``unknown fact 'x'; did you mean 'y'?``."""
        return self.text + hint(self.suggestion) if self.show_suggestion else self.text

    def at(self, **kw: Any) -> "Problem":
        return replace(self, **kw)

    def prefixed(self, *prefix: Any) -> "Problem":
        return replace(self, path=tuple(prefix) + tuple(self.path))

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def location(self) -> str:
        if self.file is None:
            return ""
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"

    def __str__(self) -> str:
        text = self.message
        if self.path:
            text = f"{format_path(self.path)}: {text}"
        if self.severity == WARNING:
            text = f"warning: {text}"
        loc = self.location
        return f"{loc}: {text}" if loc else text

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": format_path(self.path),
            "severity": self.severity,
            "message": self.message,
            "suggestion": self.suggestion,
        }


class TriageError(Exception):
    """Root of every error this library raises on purpose."""


class PolicyError(TriageError):
    """A policy set (or one document) is invalid.  ``problems`` holds every error found."""

    def __init__(self, problems: Iterable[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        errors = [p for p in self.problems if p.is_error] or list(self.problems)
        head = str(errors[0]) if errors else "invalid policy"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(head + more)


class TicketError(TriageError):
    """A ticket is invalid.  ``problems`` names every bad field; ``ticket_id`` when known."""

    def __init__(self, problems: Iterable[Problem] | str, ticket_id: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.ticket_id = ticket_id
        first = self.problems[0] if self.problems else Problem("invalid ticket")
        self.field = first.field
        prefix = f"ticket {ticket_id}: " if ticket_id else ""
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(prefix + str(first) + more)


class CalendarError(TriageError, ValueError):
    """Bad input to business-time arithmetic: naive datetimes, bad durations,
    a calendar with no open time, a year outside the supported range."""


class DurationError(CalendarError):
    """A duration string that does not parse.  ``suggestion`` holds a close valid spelling, which
    the message ends with (``text`` is the message without it)."""

    def __init__(self, message: str, suggestion: str | None = None):
        self.text = message  # without the suggestion
        self.suggestion = suggestion
        super().__init__(message + hint(suggestion))
