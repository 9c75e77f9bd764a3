"""Everything a TriagePolicy decides with, as one list of RuleDefs in policy order.

* ``conditions``: named conditions (``several_customers``), used in any ``when``
  as ``{condition: name}``;
* ``rules``: one RuleDef each;
* ``tables``: one RuleDef per cell (see :mod:`engine.rules.tables`);
* ``routes``: one RuleDef each, with no priority: the first route that matches
  picks the PriorityTargets (the channel's SLA); none matching means the
  policy's ``targets``.

All of them are compiled into the same durable-rules rulesets, so one match
per ticket answers the priority and the route together.  Problem paths are
relative to the TriagePolicy's ``spec``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .compiler import RuleDef, build_rules, check_compilable, key_problems
from .conditions import Condition, parse_condition, parse_named_conditions
from .tables import build_tables
from ..core.errors import Problem
from ..facts.values import describe, json_type
from ..facts.vocabulary import Fact

ROUTE_KEYS = ("id", "description", "when", "targets")


@dataclass(frozen=True)
class PolicyRules:
    """The RuleDefs of one TriagePolicy (rules, then table cells, then routes) and its routes."""

    rules: tuple[RuleDef, ...]
    routes: tuple[tuple[str, str], ...]          # (route id, PriorityTargets name), first match wins
    named: Mapping[str, Condition]

    @property
    def priority_rules(self) -> tuple[RuleDef, ...]:
        """Rules and table cells: everything that gives a priority."""
        return tuple(r for r in self.rules if r.kind != "route")


def build_triage_rules(spec: Mapping, facts: Mapping[str, Fact]) -> tuple[PolicyRules, list[Problem]]:
    """Parse named conditions, rules, tables and routes of a TriagePolicy spec; every problem found."""
    problems: list[Problem] = []
    named, found = parse_named_conditions(spec.get("conditions"), facts)
    problems.extend(p.prefixed("conditions") for p in found)
    rules, found = build_rules(spec.get("rules", []), facts, named)
    problems.extend(p.prefixed("rules") for p in found)
    cells, found = build_tables(spec.get("tables"), facts, named, first_position=len(rules))
    problems.extend(p.prefixed("tables") for p in found)
    routes, route_defs, found = _build_routes(spec.get("routes"), facts, named, len(rules) + len(cells))
    problems.extend(p.prefixed("routes") for p in found)
    everything = [*rules, *cells, *route_defs]
    problems.extend(_duplicate_ids(everything))
    return PolicyRules(tuple(everything), tuple(routes), named), problems


def _build_routes(routes_yaml, facts, named, start) -> tuple[list, list[RuleDef], list[Problem]]:
    if routes_yaml is None:
        return [], [], []
    if not isinstance(routes_yaml, list):
        return [], [], [Problem(f"routes must be a list, got {json_type(routes_yaml)}")]
    routes, defs, problems = [], [], []
    for i, route in enumerate(routes_yaml):
        if not isinstance(route, Mapping):
            problems.append(Problem(f"a route must be a mapping with {', '.join(ROUTE_KEYS)}, got {json_type(route)}",
                                    (i,)))
            continue
        found = key_problems(route, ROUTE_KEYS, ("id", "when", "targets"), "route", (i,))
        if found:
            problems.extend(found)
            continue
        if not isinstance(route["targets"], str):
            problems.append(Problem(f"targets must be the name of a PriorityTargets, got {describe(route['targets'])}",
                                    (i, "targets")))
            continue
        cond, found = parse_condition(route["when"], facts, named)
        found = [p.prefixed(i, "when") for p in found]
        if cond is not None:
            found.extend(p.prefixed(i, "when") for p in check_compilable(cond))
        problems.extend(p.at(rule_id=route["id"]) for p in found)
        if cond is None or any(p.is_error for p in found):
            continue
        routes.append((route["id"], route["targets"]))
        defs.append(RuleDef(route["id"], route.get("description", ""), None, cond, start + len(defs),
                            kind="route", path=("routes", i)))
    return routes, defs, problems


def _duplicate_ids(rules: list[RuleDef]):
    first: dict[str, RuleDef] = {}
    for rule in rules:
        if rule.id in first:
            other = first[rule.id]
            if other.kind == rule.kind == "rule":
                continue  # build_rules reports duplicate rule ids itself
            yield Problem(f"duplicate id {rule.id!r} (also the id of {_where(other)})", rule.path + ("id",)
                          if rule.kind != "cell" else rule.path, rule_id=rule.id)
        else:
            first[rule.id] = rule


def _where(rule: RuleDef) -> str:
    return ".".join(str(part) if not isinstance(part, int) else f"[{part}]" for part in rule.path).replace(".[", "[")
