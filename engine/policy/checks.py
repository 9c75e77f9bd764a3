"""Semantic checks over schema-valid documents.

Every check is a generator of ``Problem``s with a path relative to its
document; ``run_checks`` locates them (file:line:col) and never stops at the
first.  Per-document checks run once per document; cross-document checks
(references, uniqueness, exactly one default SLA) run on every snapshot of the
policy set, i.e. on each date where the documents in effect change, so a
reference that is unresolvable on some date is caught.

A TriagePolicy is checked by compiling it (:func:`engine.rules.triage.compile_triage`,
through a :class:`~engine.rules.triage.TriageCache` that loading then reuses).

Beyond shapes and references, the checks ask what evaluation will need: a calendar that a
priority counts business time on must be open on some day of its supported years (an error
at the reference), and some TriagePolicy should be in effect today (a warning naming the
first effective date: tickets created before it are rejected).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Callable, Iterable, Iterator

from ..calendar.business import check_calendar_spec
from ..calendar.duration import Duration
from ..calendar.index import first_open_day
from ..calendar.spec import compile_calendar_spec
from ..core.errors import WARNING, Problem, TicketError, TriageError
from ..core.suggest import did_you_mean
from ..facts.validator import ticket_validator
from ..rules.triage import TriageCache, TriageRules
from .loader import PolicyDocument
from .versions import change_dates, group_versions, snapshot
from ..core.zones import timezone_problem
from ..sla.clock_policy import check_clock, one_clock_in_effect

Located = tuple[PolicyDocument, Problem]


# --------------------------------------------------------------------------- per document
class _Openings:
    """Per BusinessCalendar document, computed once: why it is never open in its supported years
    (None when it is open some day, or when it does not compile: its errors are reported already),
    and whether it has weekly hours (``business_days`` need them, or a ``business_day``)."""

    def __init__(self) -> None:
        self._found: dict[int, tuple[PolicyDocument, str | None, bool]] = {}

    def _get(self, doc: PolicyDocument) -> tuple[PolicyDocument, str | None, bool]:
        found = self._found.get(id(doc))
        if found is None:
            found = self._found[id(doc)] = (doc, *_openness(doc))
        return found

    def never_open(self, doc: PolicyDocument) -> str | None:
        return self._get(doc)[1]

    def has_business_day(self, doc: PolicyDocument) -> bool:
        return self._get(doc)[2]


def _openness(doc: PolicyDocument) -> tuple[str | None, bool]:
    try:
        rules = compile_calendar_spec(doc.name, doc.spec)
        if first_open_day(rules) is not None:
            return None, rules.business_day_us is not None
    except TriageError:  # a calendar error: reported by its own check
        return None, True
    first, last = rules.holidays.years
    if not rules.has_open_time:
        why = "it has no opening hours"
    else:
        closers = "a holiday or closed by special_hours" if rules.special else "a holiday"
        why = f"every day with opening hours is {closers}"
    return f"is never open in {first}-{last} ({why})", rules.business_day_us is not None


def _check_calendar(doc: PolicyDocument, openings: _Openings) -> Iterator[Problem]:
    problems = list(check_calendar_spec(doc.spec))
    for problem in problems:
        yield problem.prefixed("spec")
    reason = openings.never_open(doc) if not any(p.is_error for p in problems) else None
    if reason and "holiday" in reason:  # (no opening hours at all has its own warning)
        yield Problem(f"the calendar {reason}: business durations on it cannot be computed",
                      ("spec", "holidays" if "holidays" in doc.spec else "special_hours"), severity=WARNING)


def _check_triage(compiled: TriageRules) -> Iterator[Problem]:
    for problem in compiled.problems:
        yield problem.prefixed("spec")


def _check_targets(doc: PolicyDocument) -> Iterator[Problem]:
    # Same-unit comparison only: business vs calendar time depends on the calendar.
    for priority, target in doc.spec["priorities"].items():
        if "resolution" not in target:
            continue  # a channel that promises only a first reply
        response, resolution = Duration.parse(target["response"]), Duration.parse(target["resolution"])
        if _nominal(response) is not None and _nominal(resolution) is not None \
                and response.is_business == resolution.is_business \
                and _nominal(resolution) < _nominal(response):
            yield Problem(f"resolution target {target['resolution']!r} is shorter than the response target "
                          f"{target['response']!r}", ("spec", "priorities", priority, "resolution"),
                          severity=WARNING)


def _nominal(duration: Duration):
    """Length in hours, with a business day taken as 8 business hours (for a sanity warning only)."""
    per_unit = {"minutes": 1 / 60, "hours": 1, "days": 24, "business_minutes": 1 / 60,
                "business_hours": 1, "business_days": 8}
    return float(duration.amount) * per_unit[duration.unit]


def _check_operator_slas(doc: PolicyDocument) -> Iterator[Problem]:
    problem = timezone_problem(doc.spec["timezone"], ("spec", "timezone"))
    if problem:
        yield problem
    for i, sla in enumerate(doc.spec["slas"]):
        for level in ("first_level", "second_level"):
            if Duration.parse(sla[level]["within"]).amount <= 0:
                yield Problem("a deadline must be longer than zero", ("spec", "slas", i, level, "within"))


def _check_locations(doc: PolicyDocument) -> Iterator[Problem]:
    for i, loc in enumerate(doc.spec["locations"]):
        if "timezone" in loc:
            problem = timezone_problem(loc["timezone"], ("spec", "locations", i, "timezone"))
            if problem:
                yield problem


# TriagePolicy: _check_triage, given the document's compiled facts and rules; BusinessCalendar:
# _check_calendar, given the openings of this run (see run_checks)
PER_DOCUMENT: dict[str, Callable[[PolicyDocument], Iterable[Problem]]] = {
    "PriorityTargets": _check_targets,
    "OperatorSLAs": _check_operator_slas,
    "Locations": _check_locations,
    "SLAClock": check_clock,
}


# --------------------------------------------------------------------------- across documents
def _duplicate_versions(groups: dict) -> Iterator[Located]:
    for (kind, name), versions in groups.items():
        seen: dict = {}
        for doc in versions:
            key = doc.effective_from
            if key in seen:
                first = seen[key]
                line, _ = first.source.locate(("metadata", "name"))
                when = f" effective from {key}" if key else ""
                yield doc, Problem(f"duplicate {kind} {name!r}{when} (also defined at {first.file}:{line}); "
                                   "names are unique per kind, or give each version its own effective_from",
                                   ("metadata", "effective_from" if key else "name"))
            else:
                seen[key] = doc


def _reference(doc: PolicyDocument, path: tuple, kind: str, name: str, names: dict, what: str,
               day: str, broken: frozenset = frozenset()) -> Iterator[Located]:
    if name in names or (kind, name) in broken:
        return  # a document that failed its schema is already reported; don't cascade
    suggestion = did_you_mean(name, names)
    when = f" on {day}" if day else ""
    known = f"; known: {', '.join(sorted(names)[:10])}" if names and not suggestion else ""
    yield doc, Problem(f"unknown {what} {name!r}{when}{known}", path, suggestion=suggestion)


def _snapshot_checks(docs: list[PolicyDocument], day: str, broken: frozenset,
                     openings: _Openings) -> Iterator[Located]:
    by_kind: dict[str, dict[str, PolicyDocument]] = defaultdict(dict)
    for doc in docs:
        by_kind[doc.kind][doc.name] = doc
    calendars, targets = by_kind["BusinessCalendar"], by_kind["PriorityTargets"]

    for doc in targets.values():
        yield from _reference(doc, ("spec", "calendar"), "BusinessCalendar", doc.spec["calendar"], calendars,
                              "calendar", day, broken)
        for priority, target in doc.spec["priorities"].items():
            if "calendar" in target:
                yield from _reference(doc, ("spec", "priorities", priority, "calendar"), "BusinessCalendar",
                                      target["calendar"], calendars, "calendar", day, broken)
        yield from _business_time_is_countable(doc, calendars, openings)

    policies = list(by_kind["TriagePolicy"].values())
    if len(policies) > 1:
        for doc in policies[1:]:
            yield doc, Problem(f"a policy set has one TriagePolicy in effect at a time; found "
                               f"{', '.join(repr(p.name) for p in policies)}", ("metadata", "name"))
    for doc in policies:
        routed = [(("spec", "targets"), doc.spec["targets"])]
        routed += [(("spec", "routes", i, "targets"), route["targets"])
                   for i, route in enumerate(doc.spec.get("routes", ()))]
        for path, target_name in routed:
            yield from _reference(doc, path, "PriorityTargets", target_name, targets, "PriorityTargets", day, broken)
            if target_name in targets:
                yield from _priorities_have_targets(doc, target_name, targets[target_name].spec["priorities"])

    yield from _operator_checks(list(by_kind["OperatorSLAs"].values()), list(by_kind["Locations"].values()), day,
                                {kind for kind, _ in broken})
    yield from one_clock_in_effect(list(by_kind["SLAClock"].values()))


def _business_units(target) -> set[str]:
    """The business units (business_hours, ...) of a priority's response and resolution targets."""
    units = set()
    for key in ("response", "resolution"):
        if key in target:
            try:
                duration = Duration.parse(target[key])
            except TriageError:  # reported by the schema
                continue
            if duration.is_business:
                units.add(duration.unit)
    return units


def _business_time_is_countable(doc: PolicyDocument, calendars: dict[str, PolicyDocument],
                                openings: _Openings) -> Iterator[Located]:
    """Each calendar a priority counts business time on is open some day; ``business_days`` also
    need weekly hours (or the calendar's ``business_day``).  Reported at the reference: the
    priority's own ``calendar``, else the document's default."""
    by_reference: dict[tuple, tuple[str, list[str], set[str]]] = {}
    for priority, target in doc.spec["priorities"].items():
        units = _business_units(target)
        if not units:
            continue
        path = ("spec", "priorities", priority, "calendar") if "calendar" in target else ("spec", "calendar")
        name = target.get("calendar", doc.spec["calendar"])
        entry = by_reference.setdefault(path, (name, [], set()))
        entry[1].append(priority)
        entry[2].update(units)
    for path, (name, priorities, units) in by_reference.items():
        calendar = calendars.get(name)
        if calendar is None:
            continue  # an unknown calendar is reported as such
        listed = _listed(priorities)
        reason = openings.never_open(calendar)
        if reason:
            yield doc, Problem(f"calendar {name!r} {reason}, so the business-time targets of {listed} "
                               "cannot be computed", path)
        elif "business_days" in units and not openings.has_business_day(calendar):
            yield doc, Problem(f"calendar {name!r} has no weekly hours, so the business_days targets of {listed} "
                               "cannot be computed: give the calendar a business_day (e.g. '8 hours')", path)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def _in_effect_today(docs: list[PolicyDocument], today: str) -> Iterator[Located]:
    """A warning when no TriagePolicy is in effect yet: every ticket created before the first
    effective date is rejected."""
    policies = sorted((d for d in docs if d.kind == "TriagePolicy"), key=lambda d: d.effective_from or "")
    if policies and all(d.effective_from and d.effective_from > today for d in policies):
        first = policies[0]
        yield first, Problem(f"no TriagePolicy is in effect yet: the first, {first.name!r}, takes effect on "
                             f"{first.effective_from}, and a ticket created before then is rejected",
                             ("metadata", "effective_from"), severity=WARNING)


def _priorities_have_targets(doc: PolicyDocument, target_name: str, defined) -> Iterator[Located]:
    """Every priority a rule, a table cell or the default can give has targets in ``target_name``
    (a ticket routed there can get any of them)."""
    where = f"PriorityTargets {target_name!r} (it defines {', '.join(sorted(defined))})"
    for i, rule in enumerate(doc.spec["rules"]):
        if rule["priority"] not in defined:
            yield doc, Problem(f"priority {rule['priority']} has no targets in {where}",
                               ("spec", "rules", i, "priority"))
    for i, table in enumerate(doc.spec.get("tables", ())):
        for row, cells in table["cells"].items():
            for j, priority in enumerate(cells):
                if priority not in defined:
                    yield doc, Problem(f"priority {priority} has no targets in {where}",
                                       ("spec", "tables", i, "cells", row, j))
    if doc.spec["default_priority"] not in defined:
        yield doc, Problem(f"default priority {doc.spec['default_priority']} has no targets in "
                           f"PriorityTargets {target_name!r}", ("spec", "default_priority"))


def _duplicate_id(seen: dict, doc: PolicyDocument, key: str, i: int, what: str) -> Located | None:
    """Record ``doc.spec[key][i]["id"]`` in ``seen``; a problem if an earlier item has it already."""
    item_id = doc.spec[key][i]["id"]
    if item_id not in seen:
        seen[item_id] = (doc, i)
        return None
    first_doc, first_i = seen[item_id]
    line, _ = first_doc.source.locate(("spec", key, first_i, "id"))
    return doc, Problem(f"duplicate {what} id {item_id!r} (also at {first_doc.file}:{line})", ("spec", key, i, "id"))


def _operator_checks(sla_docs: list[PolicyDocument], loc_docs: list[PolicyDocument], day: str,
                     broken_kinds: set[str]) -> Iterator[Located]:
    # SLA ids and location ids are pooled across documents: if a document of either kind failed its
    # schema, references into that pool are not checked (they would only repeat that failure).
    slas_complete, locations_complete = "OperatorSLAs" not in broken_kinds, "Locations" not in broken_kinds
    slas: dict[str, tuple[PolicyDocument, int]] = {}
    defaults: list[tuple[PolicyDocument, int]] = []
    for doc in sla_docs:
        for i, sla in enumerate(doc.spec["slas"]):
            if sla.get("default"):  # counted even on a duplicate id, so one fault is reported once
                defaults.append((doc, i))
            duplicate = _duplicate_id(slas, doc, "slas", i, "SLA")
            if duplicate:
                yield duplicate
    if sla_docs and not defaults and slas_complete:
        doc = sla_docs[0]
        yield doc, Problem("no default SLA: mark exactly one SLA with 'default: true' (new locations get it)",
                           ("spec", "slas"))
    if len(defaults) > 1:
        ids = [doc.spec["slas"][i]["id"] for doc, i in defaults]
        listed = ", ".join(repr(x) for x in ids)
        for doc, i in defaults:
            yield doc, Problem(f"more than one default SLA ({listed}); exactly one SLA may have 'default: true'",
                               ("spec", "slas", i, "default"))
    if loc_docs and not sla_docs and slas_complete:
        yield loc_docs[0], Problem("Locations need an OperatorSLAs document with a default SLA", ("spec",))

    locations: dict[str, tuple[PolicyDocument, int]] = {}
    bound: dict[str, str] = {}
    for doc in loc_docs:
        for i, loc in enumerate(doc.spec["locations"]):
            duplicate = _duplicate_id(locations, doc, "locations", i, "location")
            if duplicate:
                yield duplicate
                continue
            if "sla" in loc and slas_complete:
                yield from _reference(doc, ("spec", "locations", i, "sla"), "SLA", loc["sla"], slas, "SLA", day)
                bound[loc["id"]] = f"its own 'sla: {loc['sla']}'"
    for doc in sla_docs:
        for i, sla in enumerate(doc.spec["slas"]):
            for j, loc_id in enumerate(sla.get("locations", ())):
                path = ("spec", "slas", i, "locations", j)
                if loc_id not in locations:
                    if locations_complete:
                        yield from _reference(doc, path, "Location", loc_id, locations, "location", day)
                    continue
                if loc_id in bound:
                    yield doc, Problem(f"location {loc_id!r} is bound twice: by {bound[loc_id]} and by SLA "
                                       f"{sla['id']!r}; bind it in one place", path)
                    continue
                bound[loc_id] = f"SLA {sla['id']!r}"


def _policy_test_tickets(docs: list[PolicyDocument], triage: TriageCache) -> Iterator[Located]:
    """Each PolicyTest ticket must be a valid ticket for the TriagePolicy in effect on its date."""
    policies = sorted((d for d in docs if d.kind == "TriagePolicy"), key=lambda d: d.effective_from or "")
    validators = []
    for doc in policies:
        facts = triage.get(doc).facts
        if facts is None:
            return  # the vocabulary itself is reported; tickets cannot be checked against it
        validators.append((doc.effective_from or "", ticket_validator(facts)))
    if not validators:
        return
    for doc in docs:
        if doc.kind != "PolicyTest":
            continue
        for i, case in enumerate(doc.spec["cases"]):
            ticket = case["ticket"]
            created = ticket.get("created_at")
            day = created[:10] if isinstance(created, str) else ""
            validate = validators[0][1]
            for since, candidate in validators:
                if since <= day:
                    validate = candidate
            try:
                validate(ticket)
            except TicketError as exc:
                for problem in exc.problems:
                    yield doc, problem.prefixed("spec", "cases", i, "ticket")


# --------------------------------------------------------------------------- driver
def run_checks(docs: list[PolicyDocument], broken: Iterable[tuple[str, str]] = (),
               triage: TriageCache | None = None, today: str | None = None) -> list[Problem]:
    """Every semantic problem of the schema-valid ``docs``, located and de-duplicated, in file order.

    Each TriagePolicy is compiled through ``triage`` (a new cache if None); pass the cache on to
    ``compile_documents`` so that loading does not compile the documents again.  ``today``
    (``YYYY-MM-DD``, default: the local date) is the date a TriagePolicy should be in effect on.
    """
    triage = TriageCache() if triage is None else triage
    openings = _Openings()
    checks = {**PER_DOCUMENT, "TriagePolicy": lambda doc: _check_triage(triage.get(doc)),
              "BusinessCalendar": lambda doc: _check_calendar(doc, openings)}
    located: list[Located] = []
    for doc in docs:
        check = checks.get(doc.kind)
        if check:
            located.extend((doc, p) for p in check(doc))
    groups = group_versions(docs)
    located.extend(_duplicate_versions(groups))
    located.extend(_policy_test_tickets(docs, triage))
    for day in change_dates(docs):
        located.extend(_snapshot_checks(snapshot(groups, day), day, frozenset(broken), openings))
    located.extend(_in_effect_today(docs, today or date.today().isoformat()))
    out: dict = {}
    for doc, problem in located:
        placed = doc.locate(problem)
        # the same fault seen on several dates is reported once, for the earliest date
        out.setdefault((placed.file, placed.line, placed.col, placed.path), placed)
    return sorted(out.values(), key=lambda p: (p.file or "", p.line or 0, p.col or 0))
