"""Evaluating one ticket: validate, match rules, pick the priority, compute due dates.

Which document versions apply is decided by the ticket's ``created_at``: its
calendar date *as written* (in the offset the ticket carries) is compared
with each version's ``effective_from``.  Everything that depends only on that
date (the versions in effect, their calendars, the provenance record) is
resolved once per date into a ``_Plan`` and cached, so that evaluating a
ticket is validation, rule matching and two calendar additions.
"""
from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from .compiled_policy import PRIORITY_ORDER, Compiled, CompiledTarget, CompiledTriage
from .decision import Decision
from ..core.errors import CalendarError, Problem, TicketError, TriageError
from ..core.memo import remember
from ..calendar.holidays import MAX_YEAR as _LAST_YEAR, MIN_YEAR as _FIRST_YEAR
from ..calendar.years import sure_years
from ..facts.values import parse_rfc3339
from ..policy.versions import change_dates

_PLAN_CACHE_SIZE = 8192
_OUTCOME_CACHE_SIZE = 65536
_NO_DUES = (None, None)
_new_tuple = tuple.__new__  # builds a Decision from its fields in order, without its Python __new__


@dataclass(frozen=True)
class _Due:
    """Per priority: its target, the calendar it counts on, and the policy record of a decision
    without and with an operator SLA (digest, revision, documents used)."""

    target: CompiledTarget
    calendar: Any
    record: Mapping[str, Any]
    record_with_operator: Mapping[str, Any]


@dataclass(frozen=True)
class _Plan:
    triage: CompiledTriage
    due: dict[str, dict[str, _Due]]     # targets name -> priority -> how its due dates are computed (never mutated)
    operator: Any                       # OperatorBook or None
    outcomes: dict                      # matched ids -> _Outcome (bounded by remember)


class _Outcome(NamedTuple):
    """What the matched ids decide within a plan: depends on nothing else, so it is memoised per plan."""

    rules_priority: str
    decided_by: str | None
    matched_rules: tuple[str, ...]      # rules and table cells (routes left out)
    targets: str                        # the PriorityTargets: the first matching route's, else the default
    route: str | None
    rank: int                           # of rules_priority in P1..P4
    due: "_Due | None"                  # how rules_priority's due dates are computed (None: no target)


class _NoFastPath:
    """The fused fast path of a policy set with several TriagePolicy versions: it takes no ticket."""

    @staticmethod
    def fused(ticket: Any) -> None:
        return None


_NO_FAST_PATH = _NoFastPath()
_RANK = {priority: rank for rank, priority in enumerate(PRIORITY_ORDER)}


def _decide(plan: _Plan, matched: tuple[str, ...]) -> _Outcome:
    """The highest priority among the matched rules and cells (P1 highest), the first listed of that
    priority deciding, or the default priority when none matched; and the first matching route."""
    triage = plan.triage
    best, decided_by, route = len(PRIORITY_ORDER), None, None
    rules = []
    rank_of = triage.rule_rank
    for rule_id in matched:
        rank = rank_of.get(rule_id)
        if rank is None:  # a route
            if route is None:
                route = rule_id
            continue
        rules.append(rule_id)
        if rank < best:
            best, decided_by = rank, rule_id
    priority = PRIORITY_ORDER[best] if decided_by is not None else triage.default_priority
    targets = triage.routes[route] if route is not None else triage.targets
    return _Outcome(priority, decided_by, tuple(rules), targets, route, _RANK[priority],
                    plan.due[targets].get(priority))


def _printable(text: str) -> str:
    """``text`` with anything UTF-8 cannot hold (lone surrogates) written as a ``\\udxxx`` escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _text_facts(triage: CompiledTriage) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The facts whose values are free text: strings, and overrides (their reason)."""
    facts = triage.facts.values()
    return (tuple(f.name for f in facts if f.type == "string"), tuple(f.name for f in facts if f.type == "override"))


def _unicode_problem(facts: Mapping[str, Any], text: tuple[tuple[str, ...], tuple[str, ...]]) -> TicketError | None:
    """A ``TicketError`` if a free-text value is not valid Unicode (it holds a lone surrogate), else None.

    Enum values are policy-defined, so only free text needs the check; it is one ``isascii`` per
    text fact present, and an ``encode`` only for text with non-ASCII characters.  (A ticket the
    validator's ASCII fast path took needs no check at all.)"""
    strings, overrides = text
    texts = [(name, facts.get(name)) for name in strings]
    texts += [(name, facts[name].get("reason")) for name in overrides if facts.get(name) is not None]
    bad = None
    for name, value in texts:
        if value is not None and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                bad = name, value, exc
                break
    if bad is None:
        return None
    name, value, exc = bad
    escaped = value[exc.start:exc.start + 1].encode("utf-8", "backslashreplace").decode("ascii")
    problem = Problem(f"text is not valid Unicode: it holds a lone surrogate ({escaped} at character {exc.start + 1})",
                      (name,), field=name)
    ticket_id = facts.get("id")
    return TicketError([problem], _printable(ticket_id) if isinstance(ticket_id, str) else None)


def _date_problem(field: str, value: Any, years: tuple[int, int], ticket_id: Any,
                  why: str | None = None) -> TicketError:
    first, last = years
    text = f"{value.isoformat()} is outside the supported years {first}-{last}" if why is None else \
        f"{value.isoformat()}: {why}"
    return TicketError([Problem(text, (field,), field=field)],
                       _printable(ticket_id) if isinstance(ticket_id, str) else None)


def _check_years(facts: Mapping[str, Any]) -> None:
    """``TicketError`` if ``created_at`` or ``escalated_at`` is outside the years calendars support.

    Checked before the rules and the calendars see the ticket: a year such as 0001 or 9999 is no
    date support can count from (and 9999-12-31 with a negative offset is not even a UTC instant)."""
    for name in ("created_at", "escalated_at"):
        value = facts.get(name)
        if value is not None and not _FIRST_YEAR <= value.year <= _LAST_YEAR:
            raise _date_problem(name, value, (_FIRST_YEAR, _LAST_YEAR), facts.get("id"))


def _range_reason(exc: Exception) -> str:
    """The calendar's own message; Python's date overflow in words."""
    if isinstance(exc, OverflowError):
        return "they would fall outside the dates that can be represented"
    return str(exc)


class Evaluator:
    """Evaluates tickets against a compiled policy set.  Thread-safe."""

    def __init__(self, compiled: Compiled, provenance: Mapping[str, Any]) -> None:
        self._compiled = compiled
        self._provenance = dict(provenance)
        # a date no TriagePolicy covers maps to the problems, never to an exception instance: one
        # instance raised again for every ticket of that date would grow its traceback, which holds
        # each ticket, without bound
        self._plans: dict[date, _Plan | tuple[Problem, ...]] = {}
        self._lock = threading.Lock()
        self._policy_records: dict[tuple[str, ...], Mapping[str, Any]] = {}
        versions = compiled.triage_versions
        self._only = versions[0] if len(versions) == 1 else None  # the one TriagePolicy version, if so
        # its rules' fused fast path (validation and matching in one pass, see engine.rules.fastpath):
        # self._matching.fused(ticket); none with several versions
        self._matching = self._only.evaluator.matching if self._only else _NO_FAST_PATH
        # the dates on which the documents in effect change; plans of the dates between two are one
        self._changes = change_dates([*(t.doc for t in versions), *(doc for docs in compiled.calendar_versions.values()
                                                                     for doc, _ in docs),
                                      *(t.doc for targets in compiled.target_versions.values() for t in targets),
                                      *(doc for _, _, docs in compiled.operator_versions for doc in docs)])
        self._period_plans: dict[int, _Plan] = {}  # index in _changes -> the plan (at most one per change)
        # per triage version: the free-text facts, whose values must be valid Unicode
        self._text = {id(triage): _text_facts(triage) for triage in versions}
        self._windows: dict[int, tuple] = {}  # id(_Due) -> (_Due, years its dates surely count from, see _countable)

    # ------------------------------------------------------------------ plans
    def _plan(self, day: date) -> _Plan:
        plan = self._plans.get(day)
        if plan is None:
            plan = self._build_plan(day)
            with self._lock:
                remember(self._plans, day, plan, _PLAN_CACHE_SIZE)
        if type(plan) is not _Plan:
            raise TicketError(plan)  # a fresh exception per ticket
        return plan

    def _build_plan(self, day: date) -> _Plan | tuple[Problem, ...]:
        """The date's plan, or the problems that make every ticket of that date fail.  Dates
        between two changes of the documents in effect share one plan."""
        iso = day.isoformat()
        compiled = self._compiled
        triage = compiled.triage_at(iso)
        if triage is None:
            first = compiled.triage_versions[0].effective_from
            return (Problem(f"no TriagePolicy is in effect on {iso} (the first takes effect on {first})",
                            ("created_at",), field="created_at"),)
        period = bisect_right(self._changes, iso)
        plan = self._period_plans.get(period)
        if plan is None:
            plan = self._period_plans[period] = self._new_plan(triage, iso)
        return plan

    def _new_plan(self, triage: CompiledTriage, iso: str) -> _Plan:
        compiled = self._compiled
        operator = compiled.operator_at(iso)
        book, operator_docs = operator if operator else (None, ())
        operator_labels = tuple(d.label for d in operator_docs)
        due: dict[str, dict[str, _Due]] = {}
        for name in triage.target_names:
            targets = compiled.targets_at(name, iso)
            due[name] = by_priority = {}
            for priority, target in (targets.priorities.items() if targets else ()):
                found = compiled.calendar_at(target.calendar, iso)
                if found is None:
                    continue  # validation guarantees a calendar for every reachable priority
                calendar_doc, calendar = found
                documents = (triage.doc.label, targets.doc.label, calendar_doc.label)
                by_priority[priority] = _Due(target, calendar, self._policy_record(documents),
                                             self._policy_record(documents + operator_labels))
        return _Plan(triage, due, book, {})

    def _policy_record(self, documents: tuple[str, ...]) -> Mapping[str, Any]:
        record = self._policy_records.get(documents)
        if record is None:
            record = MappingProxyType({**self._provenance, "documents": documents})
            self._policy_records[documents] = record
        return record

    # ------------------------------------------------------------------ evaluate
    def _validated(self, ticket: Any) -> tuple[dict, _Plan]:
        versions = self._compiled.triage_versions
        if not versions:
            raise TriageError("this policy set has no TriagePolicy; nothing to evaluate tickets with")
        # several vocabularies (evaluate handles a single one itself): the ticket's date picks the one
        latest = versions[-1]
        raw = ticket.get("created_at") if isinstance(ticket, Mapping) else None
        try:
            day = parse_rfc3339(raw).date() if isinstance(raw, str) else None
        except ValueError:
            day = None
        if day is None:
            latest.validate_ticket(ticket)  # raises naming every bad field
            raise TicketError([Problem("created_at is required", ("created_at",), field="created_at")])
        plan = self._plan(day)
        facts = plan.triage.validate_ticket(ticket)
        if not _FIRST_YEAR <= facts["created_at"].year <= _LAST_YEAR:
            _check_years(facts)
        return facts, plan

    def _validated_and_matched(self, ticket: Any) -> tuple[dict, _Plan, tuple]:
        """``(facts, plan, (matched ids, review))`` for a ticket the fused fast path did not take
        (or of a set with several TriagePolicy versions): complete validation, the years, free text
        that is not valid Unicode, then the rules.  Raises ``TicketError`` naming what is wrong."""
        triage = self._only
        if triage is not None:  # one TriagePolicy version: validate, then find the date's plan
            facts = triage.validate_ticket(ticket)
            created_at = facts["created_at"]
            if not _FIRST_YEAR <= created_at.year <= _LAST_YEAR:
                _check_years(facts)
            plan = self._plan(created_at.date())
        else:
            facts, plan = self._validated(ticket)
            triage = plan.triage
        escalated_at = facts.get("escalated_at")
        if escalated_at is not None and not _FIRST_YEAR <= escalated_at.year <= _LAST_YEAR:
            _check_years(facts)
        # free text that is not valid Unicode never reaches the rules (nor any output)
        bad_text = _unicode_problem(facts, self._text[id(triage)])
        if bad_text is not None:
            raise bad_text
        return facts, plan, triage.evaluator.match_and_review(facts)

    def evaluate(self, ticket: Any) -> Decision:
        return self._decided(ticket, True)

    def triage(self, ticket: Any) -> Decision:
        """What :meth:`evaluate` decides, without counting due dates: the same priority, rules, calendar,
        targets, route, review, operator SLA and policy record, but ``response_due`` and ``resolution_due``
        None, and the operator SLA's deadlines None (the SLA clock counts its own).  The same errors as
        :meth:`evaluate`, a ticket whose due dates could not be counted included: they are counted only
        where they might not be (near the ends of the calendar's supported years)."""
        return self._decided(ticket, False)

    def _decided(self, ticket: Any, count: bool) -> Decision:
        """:meth:`evaluate` (``count``) or :meth:`triage`."""
        # the common ticket (one TriagePolicy version, ASCII text, dates within the supported years):
        # validated and matched in one generated pass (engine.rules.fastpath); else None
        found = self._matching.fused(ticket)
        if found is None:
            facts, plan, (matched, candidate) = self._validated_and_matched(ticket)
            created_at = facts["created_at"]
        else:
            facts, (matched, candidate) = found
            created_at = facts["created_at"]
            plan = self._plans.get(created_at.date())
            if type(plan) is not _Plan:  # not planned yet, or no policy in effect on that date
                plan = self._plan(created_at.date())
        escalated_at = facts.get("escalated_at")

        outcomes = plan.outcomes
        outcome = outcomes.get(matched)
        if outcome is None:
            outcome = remember(outcomes, matched, _decide(plan, matched), _OUTCOME_CACHE_SIZE)
        rules_priority, decided_by, matched_rules, targets, route, rank, due = outcome

        override = facts.get("priority_override")
        if override:
            priority = override["priority"]
            rank, due = _RANK[priority], plan.due[targets].get(priority)
        else:
            priority = rules_priority
        if due is None:
            raise TriageError(f"no targets for {priority} in PriorityTargets {targets!r} "
                              f"on {created_at.date()}")
        calendar, target = due.calendar, due.target
        if escalated_at is not None and escalated_at < created_at:
            raise TicketError([Problem(f"escalated_at {escalated_at.isoformat()} is before created_at "
                                       f"{created_at.isoformat()}", ("escalated_at",), field="escalated_at")],
                              ticket_id=facts["id"])
        dues = _NO_DUES
        if count or not self._countable(due, created_at):  # a triage counts them only to refuse what evaluate does
            try:
                dues = calendar.add_many(created_at, target.durations)
            except (CalendarError, OverflowError) as exc:  # e.g. 2100-12-31 + 20 business_days, or a year 1969 here
                raise _date_problem("created_at", created_at, calendar.years, facts["id"],
                                    f"its due dates cannot be counted: {_range_reason(exc)}") from None
            if not count:
                dues = _NO_DUES
        response_due = dues[0]
        resolution_due = dues[1] if len(dues) > 1 else None

        operator = None
        record = due.record
        location_id = facts.get("location_id")
        if location_id is not None and plan.operator is not None:
            try:  # without count, the deadlines are None (and counted only to refuse what evaluate does)
                operator = plan.operator.deadlines(location_id, created_at, escalated_at, count)
            except (CalendarError, OverflowError) as exc:
                field, value = ("escalated_at", escalated_at) if escalated_at is not None else \
                    ("created_at", created_at)
                raise _date_problem(field, value, calendar.years, facts["id"],
                                    f"its operator deadlines cannot be counted: {_range_reason(exc)}") from None
            record = due.record_with_operator

        review = candidate if candidate is not None and candidate.rank < rank else None
        # Decision(...) by keyword is a Python-level call; the tuple is built directly, in field order
        return _new_tuple(Decision, (
            facts["id"], priority, rules_priority, decided_by, matched_rules,
            MappingProxyType(dict(override)) if override else None,
            calendar.name, created_at, response_due, resolution_due,
            target.response_text, target.resolution_text, operator, record, targets, route, review, calendar,
        ))

    def _countable(self, due: _Due, created_at: datetime) -> bool:
        """Whether ``due``'s dates can surely be counted from ``created_at`` (see ``sure_years``)."""
        found = self._windows.get(id(due))
        if found is None or found[0] is not due:
            calendar, durations = due.calendar, due.target.durations
            with self._lock:
                found = self._windows[id(due)] = (due, sure_years(
                    *calendar.years, lambda start: calendar.add_many(start, durations)))
        low, high = found[1]
        return low <= created_at.year <= high
