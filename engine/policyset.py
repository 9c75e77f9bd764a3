"""``PolicySet``: a fully validated, compiled, immutable policy set.

``PolicySet.load(path)`` reads a directory (or one file), validates every
document against its schema, runs the semantic checks and compiles what the
evaluator needs.  It either returns a complete policy set or raises
``PolicyError`` carrying every problem: it never loads half-way.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from .policy.checks import run_checks
from .evaluation.compiled_policy import compile_documents
from .evaluation.decision import Decision
from .core.errors import PolicyError, Problem, TicketError, TriageError
from .core.suggest import did_you_mean, hint
from .evaluation.evaluator import Evaluator
from .facts.schema import ticket_schema
from .policy.loader import PolicyDocument, display_path, read_policy_dir
from .policy.provenance import digest, git_revision
from .policy.versions import group_versions, in_effect
from .rules.triage import TriageCache

if TYPE_CHECKING:  # these, and the modules imported in the methods below, are not needed to evaluate
    from .tooling.impact import ImpactReport
    from .tooling.policytest import TestReport


def check_policy_dir(path: str | os.PathLike,
                     triage: TriageCache | None = None) -> tuple[list[PolicyDocument], list[Problem]]:
    """All documents that passed their schema, and every problem (errors and warnings), located.
    ``triage`` keeps each TriagePolicy as the checks compiled it (see ``run_checks``)."""
    result = read_policy_dir(path)
    problems = list(result.problems)
    if result.documents:
        problems.extend(run_checks(result.documents, result.broken, triage))
    problems.sort(key=lambda p: (p.file or "", p.line or 0, p.col or 0))
    return result.documents, problems


def validate(path: str | os.PathLike) -> list[Problem]:
    """Every problem of the policy set at ``path`` (errors and warnings); empty when clean."""
    return check_policy_dir(path)[1]


class PolicySet:
    """A loaded policy set.  Immutable and safe to share across threads."""

    __slots__ = ("_path", "_documents", "_groups", "_warnings", "_digest", "_revision", "_compiled", "_evaluator", "_frozen")

    def __init__(self, path: str, documents: Iterable[PolicyDocument], warnings: Iterable[Problem],
                 revision: str | None, triage: TriageCache | None = None) -> None:
        self._path = path
        self._documents = tuple(documents)
        self._groups = MappingProxyType({k: tuple(v) for k, v in group_versions(self._documents).items()})
        self._warnings = tuple(warnings)
        self._digest = digest(self._documents)
        self._revision = revision
        self._compiled = compile_documents(self._documents, triage)  # reuses what the checks compiled
        self._evaluator = Evaluator(self._compiled, {"digest": self._digest, "revision": revision})
        self._frozen = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError("PolicySet is immutable; load a new one to change policy")
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | os.PathLike = "policies", *, git: bool = True,
             revision: str | None = None, name: str | None = None) -> "PolicySet":
        """Load and validate ``path``; raise ``PolicyError`` with every problem if it is not clean.

        ``revision`` records where the files came from (default: the git commit of
        ``path``'s work tree, with ``-dirty`` for local changes; ``git=False`` skips git).
        ``name`` is how the set is shown (default: ``path``).
        """
        triage = TriageCache()  # each TriagePolicy is compiled once: by the checks, for the evaluator too
        documents, problems = check_policy_dir(path, triage)
        errors = [p for p in problems if p.is_error]
        if errors:
            raise PolicyError(errors)
        if not documents:
            raise PolicyError([Problem("no policy documents found", file=display_path(Path(path)))])
        if revision is None and git:
            revision = git_revision(path)
        return cls(name or display_path(Path(path)), documents, [p for p in problems if not p.is_error], revision,
                   triage)

    @classmethod
    def at_revision(cls, rev: str, path: str | os.PathLike = "policies") -> "PolicySet":
        """The policy set at ``path`` as of git revision ``rev``, read from git without touching
        the work tree; its ``revision`` is ``rev``."""
        from .tooling.impact import policies_at

        return policies_at(rev, path, lambda folder: cls.load(folder, revision=rev,
                                                              name=f"{display_path(Path(path))}@{rev}"))

    # ------------------------------------------------------------------ inspection
    @property
    def path(self) -> str:
        return self._path

    @property
    def documents(self) -> tuple[PolicyDocument, ...]:
        return self._documents

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return self._warnings

    @property
    def digest(self) -> str:
        return self._digest

    @property
    def revision(self) -> str | None:
        return self._revision

    def versions(self, kind: str, name: str) -> tuple[PolicyDocument, ...]:
        return self._groups.get((kind, name), ())

    def document(self, kind: str, name: str, day: str | None = None) -> PolicyDocument | None:
        """The version of (kind, name) in effect on ``day`` (ISO date; default: the latest)."""
        versions = self.versions(kind, name)
        if not versions:
            return None
        return in_effect(versions, day) if day else versions[-1]

    def names(self, kind: str) -> list[str]:
        return sorted(name for (k, name) in self._groups if k == kind)

    @property
    def calendars(self) -> Mapping[str, Any]:
        """Calendars by name (the latest version of each)."""
        return self._compiled.calendars

    def calendar(self, name: str):
        """The calendar ``name`` (latest version); ``TriageError`` with a suggestion if unknown."""
        try:
            return self._compiled.calendars[name]
        except KeyError:
            suggestion = hint(did_you_mean(name, self._compiled.calendars))
            known = ", ".join(sorted(self._compiled.calendars)) or "none"
            raise TriageError(f"unknown calendar {name!r}{suggestion} (calendars: {known})") from None

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, ticket: Mapping[str, Any]) -> "Decision":
        """Priority and due dates of one ticket.  ``TicketError`` names every bad field."""
        return self._evaluator.evaluate(ticket)

    def evaluate_many(self, tickets: Iterable[Any]) -> Iterator["Decision | TicketError"]:
        """Evaluate a stream lazily; a bad ticket yields its ``TicketError`` and the stream goes on."""
        evaluate = self._evaluator.evaluate
        for ticket in tickets:
            try:
                yield evaluate(ticket)
            except TicketError as exc:
                yield exc

    def explain(self, ticket: Mapping[str, Any]) -> list[str]:
        """The decision for ``ticket`` explained in lines a support agent can read."""
        from .evaluation.explain import explain_lines

        return explain_lines(self._compiled, self.evaluate(ticket))

    def explanation(self, ticket: Mapping[str, Any]) -> dict:
        """``explain`` as JSON-ready data: the decision, matched rules, route and business-time walks."""
        from .evaluation.describe import explanation_record

        return explanation_record(self._compiled, self.evaluate(ticket))

    def vocabulary(self) -> dict:
        """The ticket facts (types, enum values, bounds, descriptions), the priorities, each
        PriorityTargets' targets, each calendar's time zone, and the generated ticket JSON Schema:
        what a form needs."""
        from .evaluation.describe import vocabulary_record

        return vocabulary_record(self._compiled)

    def compare(self, head: "PolicySet", tickets: Iterable[Any], top: int = 10) -> "ImpactReport":
        """Evaluate ``tickets`` (``TicketInput``s from ``read_tickets``) under this set and ``head``;
        the report counts what changes."""
        from .tooling.impact import compare

        return compare(self, head, tickets, top=top)

    def run_tests(self) -> "TestReport":
        """Run the set's PolicyTest cases; the report has per-case results and rule coverage."""
        from .tooling.policytest import run_policy_tests

        return run_policy_tests(self)

    @property
    def supported_years(self) -> tuple[int, int]:
        """The years every calendar of this set supports (1970-2100, or fewer where a country's
        holidays cover fewer)."""
        years = [cal.years for cal in self.calendars.values()]
        return max((y[0] for y in years), default=1970), min((y[1] for y in years), default=2100)

    def supports(self, instant: datetime) -> bool:
        """True if ``instant`` (aware), and a day either side of it, lies in :attr:`supported_years`."""
        first, last = self.supported_years
        try:
            return (first <= (instant - timedelta(days=1)).year and (instant + timedelta(days=1)).year <= last
                    and first <= instant.astimezone(timezone.utc).year <= last)
        except OverflowError:
            return False

    def rule_ids(self) -> tuple[str, ...]:
        """Ids of the latest TriagePolicy's rules, decision-table cells and routes, in policy order
        (what ``triage test`` coverage counts)."""
        versions = self._compiled.triage_versions
        return tuple(rule.id for rule in versions[-1].rules) if versions else ()

    # ------------------------------------------------------------------ SLA clock
    def clock(self, events: Iterable[Any], now: "datetime | None" = None) -> Iterator[Any]:
        """Each ticket's SLA clock at ``now`` (default: the current time) from an event log: dicts,
        or ``TicketInput``s from ``read_tickets``.  Yields a ``TicketClock`` per ticket and an
        ``EventError`` (a ``TicketError``) per bad event; events after ``now`` are ignored."""
        from .sla.clock import SLAClock, current_time

        return SLAClock(self._evaluator.triage, self._documents).run(events, current_time(now))

    def queue(self, events: Iterable[Any], now: "datetime | None" = None) -> list[Any]:
        """The tickets of ``events`` not solved or closed at ``now``, most urgent first, then the
        ``EventError``s."""
        from .sla.clock import SLAClock, current_time

        return SLAClock(self._evaluator.triage, self._documents).queue(events, current_time(now))

    def clock_timeline(self, events: Iterable[Any], ticket_id: str, now: "datetime | None" = None) -> Any:
        """One ticket's events as the clock applied them, with every metric after each."""
        from .sla.clock import SLAClock, current_time

        return SLAClock(self._evaluator.triage, self._documents).timeline(events, ticket_id, current_time(now))

    def explain_clock(self, events: Iterable[Any], ticket_id: str, now: "datetime | None" = None) -> list[str]:
        """One ticket's SLA clock told as a timeline a support agent can read."""
        from .report.clock import timeline_lines

        return timeline_lines(self.clock_timeline(events, ticket_id, now))

    def explain_svg(self, ticket: Mapping[str, Any]) -> str:
        """The decision for ``ticket`` as an SVG timeline: open hours, weekends, holidays, DST, due dates."""
        from .report.timeline import decision_svg

        return decision_svg(self.evaluate(ticket))

    def ticket_schema(self) -> dict:
        """JSON Schema of a ticket, generated from the facts of the latest TriagePolicy."""
        if not self._compiled.triage_versions:
            raise TriageError("this policy set has no TriagePolicy")
        return ticket_schema(self._compiled.triage_versions[-1].facts)

    # ------------------------------------------------------------------ releasing
    def close(self) -> None:
        """Free the rules engine's native state (durable-rules rulesets) now; idempotent.

        Evaluating afterwards raises ``TriageError``; everything else (calendars, documents) still
        works.  Dropping the last reference to the set frees the same state, so a service that
        reloads its policies need not call this; ``with PolicySet.load(...) as policies:`` does."""
        for triage in self._compiled.triage_versions:
            triage.evaluator.close()

    @property
    def closed(self) -> bool:
        return any(triage.evaluator.closed for triage in self._compiled.triage_versions)

    def __enter__(self) -> "PolicySet":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PolicySet {self._path} {len(self._documents)} documents {self._digest[:19]}>"


@dataclass(frozen=True)
class PolicySource:
    """Where a policy set comes from: a directory, or a directory as of a git revision.

    Picklable, so that :func:`~engine.tooling.impact.compare_files` can load it in a worker process.
    """

    path: str
    rev: str | None = None

    def load(self) -> PolicySet:
        return PolicySet.at_revision(self.rev, self.path) if self.rev else PolicySet.load(self.path)
