"""Compile validated documents into the objects evaluation needs (once, at load).

Every version of every document is compiled; at evaluation time the version
in effect on the ticket's date is picked (see ``_versions``).  A TriagePolicy's
facts and rules come from :func:`engine.rules.triage.compile_triage`, through the
:class:`~engine.rules.triage.TriageCache` its semantic checks filled.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from ..calendar.business import BusinessCalendar
from ..calendar.duration import Duration
from ..calendar.holidays import MAX_YEAR, MIN_YEAR
from ..core.errors import PolicyError
from ..facts.validator import ticket_validator
from ..facts.vocabulary import PRIORITIES, FactSet
from ..policy.loader import PolicyDocument
from ..rules.triage import TriageCache, TriageRules
from ..sla.operator import OperatorBook
from ..rules.runtime import RuleEvaluator
from ..policy.versions import change_dates, group_versions, in_effect, snapshot

PRIORITY_ORDER = PRIORITIES  # P1 first
# the ticket datetimes the evaluator checks against the years calendars support: its rules' fast
# path takes a ticket only when they lie within them (the evaluator then skips the check)
_YEARS = {"created_at": (MIN_YEAR, MAX_YEAR), "escalated_at": (MIN_YEAR, MAX_YEAR)}


@dataclass(frozen=True)
class CompiledTriage:
    doc: PolicyDocument
    facts: FactSet
    validate_ticket: Any          # callable: raw ticket -> normalised ticket (raises TicketError)
    rules: tuple                  # RuleDefs in policy order: rules, table cells, routes
    rule_index: Mapping[str, Any]
    rule_rank: Mapping[str, int]  # rule or cell id -> index of its priority in PRIORITY_ORDER
    evaluator: RuleEvaluator
    default_priority: str
    targets: str                  # the PriorityTargets when no route matches
    routes: Mapping[str, str]     # route id -> PriorityTargets name, in policy order

    @property
    def target_names(self) -> tuple[str, ...]:
        """Every PriorityTargets a ticket can be routed to, the default first."""
        return tuple(dict.fromkeys((self.targets, *self.routes.values())))

    @property
    def effective_from(self) -> str | None:
        return self.doc.effective_from


@dataclass(frozen=True)
class CompiledTarget:
    name: str
    description: str
    response: Duration
    resolution: Duration | None   # None: the channel promises a first reply only
    calendar: str
    response_text: str    # as written, e.g. "4 business_hours"
    resolution_text: str | None

    @property
    def durations(self) -> tuple[Duration, ...]:
        """The response duration, then the resolution duration if there is one."""
        return self._durations  # type: ignore[attr-defined]

    def __post_init__(self) -> None:
        durations = (self.response,) if self.resolution is None else (self.response, self.resolution)
        object.__setattr__(self, "_durations", durations)


@dataclass(frozen=True)
class CompiledTargets:
    doc: PolicyDocument
    priorities: Mapping[str, CompiledTarget]

    @property
    def effective_from(self) -> str | None:
        return self.doc.effective_from


@dataclass(frozen=True)
class Compiled:
    calendar_versions: Mapping[str, tuple[tuple[PolicyDocument, BusinessCalendar], ...]]
    calendars: Mapping[str, BusinessCalendar]          # latest version of each
    triage_versions: tuple[CompiledTriage, ...]        # one TriagePolicy name, by effective_from
    target_versions: Mapping[str, tuple[CompiledTargets, ...]]
    operator_versions: tuple[tuple[str, OperatorBook, tuple[PolicyDocument, ...]], ...]  # (from date, book, docs)

    def triage_at(self, day: str) -> CompiledTriage | None:
        return in_effect(self.triage_versions, day)

    def targets_at(self, name: str, day: str) -> CompiledTargets | None:
        return in_effect(self.target_versions.get(name, ()), day)

    def calendar_at(self, name: str, day: str) -> tuple[PolicyDocument, BusinessCalendar] | None:
        versions = self.calendar_versions.get(name, ())
        docs = [doc for doc, _ in versions]
        doc = in_effect(docs, day)
        return versions[docs.index(doc)] if doc is not None else None

    def operator_at(self, day: str) -> tuple[OperatorBook, tuple[PolicyDocument, ...]] | None:
        found = None
        for start, book, docs in self.operator_versions:
            if start <= day:
                found = (book, docs)
        return found


def _compile_triage(doc: PolicyDocument, compiled: TriageRules) -> CompiledTriage:
    if not compiled.ok:  # the loader refuses these; a caller that skipped its checks learns why
        raise PolicyError([doc.locate(p.prefixed("spec")) for p in compiled.problems if p.is_error])
    facts, rules = compiled.facts, compiled.rules
    return CompiledTriage(doc, facts, ticket_validator(facts), rules,
                          MappingProxyType({r.id: r for r in rules}),
                          MappingProxyType({r.id: PRIORITY_ORDER.index(r.priority) for r in rules
                                            if r.priority is not None}),
                          RuleEvaluator(compiled.compiled, facts, years=_YEARS),
                          doc.spec["default_priority"], doc.spec["targets"], MappingProxyType(dict(compiled.routes)))


def _compile_targets(doc: PolicyDocument) -> CompiledTargets:
    default_calendar = doc.spec["calendar"]
    priorities = {
        priority: CompiledTarget(t["name"], t.get("description", ""), Duration.parse(t["response"]),
                                 Duration.parse(t["resolution"]) if "resolution" in t else None,
                                 t.get("calendar", default_calendar), t["response"], t.get("resolution"))
        for priority, t in doc.spec["priorities"].items()
    }
    return CompiledTargets(doc, MappingProxyType(priorities))


def compile_documents(documents: tuple[PolicyDocument, ...], triage: TriageCache | None = None) -> Compiled:
    """Everything evaluation needs from the checked ``documents``.  ``triage`` holds the TriagePolicy
    documents already compiled by the checks of the same load (a new cache if None)."""
    triage = TriageCache() if triage is None else triage
    groups = group_versions(documents)
    calendar_versions = {
        name: tuple((doc, BusinessCalendar.from_spec(name, doc.spec)) for doc in versions)
        for (kind, name), versions in groups.items() if kind == "BusinessCalendar"
    }
    triage_docs = sorted((d for d in documents if d.kind == "TriagePolicy"), key=lambda d: d.effective_from or "")
    target_versions = {
        name: tuple(_compile_targets(doc) for doc in versions)
        for (kind, name), versions in groups.items() if kind == "PriorityTargets"
    }
    operator_groups = {k: v for k, v in groups.items() if k[0] in ("OperatorSLAs", "Locations")}
    operator_docs = [d for versions in operator_groups.values() for d in versions]
    operator_versions = []
    for day in change_dates(operator_docs):
        docs = snapshot(operator_groups, day)
        slas = [d for d in docs if d.kind == "OperatorSLAs"]
        if slas:
            operator_versions.append((day, OperatorBook(slas, [d for d in docs if d.kind == "Locations"]),
                                      tuple(docs)))
    return Compiled(
        calendar_versions=MappingProxyType(calendar_versions),
        calendars=MappingProxyType({name: versions[-1][1] for name, versions in calendar_versions.items()}),
        triage_versions=tuple(_compile_triage(doc, triage.get(doc)) for doc in triage_docs),
        target_versions=MappingProxyType(target_versions),
        operator_versions=tuple(operator_versions),
    )
