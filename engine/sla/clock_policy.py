"""The ``SLAClock`` document: which statuses pause the SLA clock, when a metric warns, and what a
priority change does to the targets.

At most one SLAClock is in effect on a date (several versions of it may be dated with
``effective_from``).  A ticket's clock follows the version in effect on its ``created_at`` date as
written, as the evaluator picks every other document.  Without any SLAClock the built-in
:data:`DEFAULT` applies, which is also what the shipped ``policies/clock.yaml`` says.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from ..core.errors import WARNING, Problem
from ..policy.versions import in_effect

STATUSES = ("open", "pending", "on_hold", "solved", "closed")
STOP_STATUSES = frozenset({"solved", "closed"})
ON_PRIORITY_CHANGE = ("from_creation", "from_change")


@dataclass(frozen=True)
class ClockPolicy:
    """One SLAClock, compiled.  ``warnings`` are sorted percentages; ``label`` names the document
    (``SLAClock/partner-support``), None for the built-in defaults."""

    pause_statuses: frozenset = frozenset({"pending", "on_hold"})
    warnings: tuple = (50, 75)
    on_priority_change: str = "from_creation"
    label: str | None = None

    def to_dict(self) -> dict:
        return {"pause_statuses": [s for s in STATUSES if s in self.pause_statuses],
                "warning_thresholds": list(self.warnings), "on_priority_change": self.on_priority_change,
                "document": self.label}


DEFAULT = ClockPolicy()


def compile_clock(doc) -> ClockPolicy:
    """A schema-valid, checked SLAClock document as a :class:`ClockPolicy`; unset keys keep the defaults."""
    spec = doc.spec or {}
    return ClockPolicy(
        frozenset(spec.get("pause_statuses", DEFAULT.pause_statuses)),
        tuple(sorted(spec.get("warning_thresholds", DEFAULT.warnings))),
        spec.get("on_priority_change", DEFAULT.on_priority_change),
        doc.label,
    )


class ClockPolicies:
    """Every SLAClock version of a policy set; :meth:`at` picks the one in effect on a date."""

    def __init__(self, documents: Iterable) -> None:
        docs = sorted((d for d in documents if d.kind == "SLAClock"), key=lambda d: d.effective_from or "")
        self._versions = tuple(docs)
        self._compiled = {id(d): compile_clock(d) for d in docs}

    def at(self, day: str) -> ClockPolicy:
        """The policy in effect on ``day`` (ISO date), else :data:`DEFAULT`."""
        if not self._versions:
            return DEFAULT
        doc = in_effect(self._versions, day)
        return DEFAULT if doc is None else self._compiled[id(doc)]


# --------------------------------------------------------------------------- checks
def check_clock(doc) -> Iterator[Problem]:
    """Semantic checks of one SLAClock document (the schema has checked the shapes)."""
    spec = doc.spec or {}
    seen: dict = {}
    for i, status in enumerate(spec.get("pause_statuses", ())):
        path = ("spec", "pause_statuses", i)
        if status in STOP_STATUSES:
            yield Problem(f"{status!r} stops the clock (a solved or closed ticket's metrics are done); it cannot "
                          f"pause it: use pending or on_hold", path)
        elif status in seen:
            yield Problem(f"{status!r} is listed twice (also at position {seen[status] + 1})", path)
        elif status == "open":
            yield Problem("pausing on 'open' stops the clock of every ticket being worked on", path,
                          severity=WARNING)
        seen.setdefault(status, i)
    seen = {}
    for i, value in enumerate(spec.get("warning_thresholds", ())):
        path = ("spec", "warning_thresholds", i)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 100:
            yield Problem(f"warning threshold {value!r} must be a percentage strictly between 0 and 100 "
                          f"(100 is the breach itself)", path)
        elif value in seen:
            yield Problem(f"warning threshold {value!r} is listed twice (also at position {seen[value] + 1})", path)
        else:
            seen[value] = i


def one_clock_in_effect(docs: list) -> Iterator[tuple]:
    """(document, problem) for every SLAClock beyond the first among ``docs`` (those in effect on one date)."""
    if len(docs) > 1:
        names = ", ".join(repr(d.name) for d in docs)
        for doc in docs[1:]:
            yield doc, Problem(f"a policy set has at most one SLAClock in effect at a time; found {names}",
                               ("metadata", "name"))
