"""Decision tables: one fact's values as rows, another fact's values or bands as columns.

A table is shorthand for one rule per cell::

    - id: contact-form
      description: The contact form's two fields
      rows: business_impact                  # an enum (or string) fact; one row per value
      columns:
        fact: users_affected
        bands: {one: {lte: 1}, several: {gte: 2}}   # or values: [a, b, ...]
      cells:                                 # row value -> one priority per column, in order
        critical: [P2, P1]
        high: [P3, P2]

Cell ``(critical, several)`` becomes the rule ``contact-form.critical.several``
whose condition is ``business_impact == critical and users_affected >= 2`` (and
the table's optional ``when``).  Cells are compiled, matched, reported and
covered exactly like rules.

Validation (problem paths relative to the ``tables`` list; a cell's RuleDef path is
relative to the policy's ``spec``):

* a row or column value outside the fact's type or enum, or a band bound of the
  wrong type, through the condition parser (the same messages as in rules);
* overlapping bands (a value two columns both hold);
* gaps: an enum (or boolean) value with no row or column, a stretch of the
  fact's range (``minimum``..``maximum``) that no band holds, a row with fewer
  cells than columns.  String facts have no finite domain, so only their
  listed values are checked.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .conditions import AllOf, parse_condition
from .compiler import RuleDef, key_problems
from ..core.errors import Problem
from ..core.suggest import did_you_mean
from ..facts.values import describe, json_type
from ..facts.vocabulary import PRIORITIES, Fact

TABLE_KEYS = ("id", "description", "when", "rows", "columns", "cells")
ROW_TYPES = ("enum", "string")
VALUE_COLUMN_TYPES = ("enum", "string", "boolean")
BAND_COLUMN_TYPES = ("integer", "number")
BAND_OPS = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class _Band:
    """A column's interval of values: ``lo``/``hi`` with inclusive flags (infinite ends allowed)."""

    name: str
    lo: float
    lo_in: bool
    hi: float
    hi_in: bool

    def describe(self, fact: str) -> str:
        parts = []
        if self.lo != -math.inf:
            parts.append(f"{fact} {'>=' if self.lo_in else '>'} {_num(self.lo)}")
        if self.hi != math.inf:
            parts.append(f"{fact} {'<=' if self.hi_in else '<'} {_num(self.hi)}")
        return " and ".join(parts) or f"any {fact}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def build_tables(tables_yaml: object, facts: Mapping[str, Fact], named: Mapping | None = None,
                 first_position: int = 0) -> tuple[list[RuleDef], list[Problem]]:
    """RuleDefs for every cell of every valid table, and every problem (paths relative to the list).

    ``first_position`` is the policy-order position of the first cell (after the rules)."""
    if tables_yaml is None:
        return [], []
    if not isinstance(tables_yaml, list):
        return [], [Problem(f"tables must be a list, got {json_type(tables_yaml)}")]
    out: list[RuleDef] = []
    problems: list[Problem] = []
    for i, table in enumerate(tables_yaml):
        cells, found = _build_table(table, facts, named or {}, first_position + len(out))
        problems.extend(p.prefixed(i) for p in found)
        if not any(p.is_error for p in found):
            out.extend(replace(cell, path=("tables", i) + cell.path) for cell in cells)
    return out, problems


def _build_table(table, facts, named, position) -> tuple[list[RuleDef], list[Problem]]:
    if not isinstance(table, Mapping):
        return [], [Problem(f"a table must be a mapping with {', '.join(TABLE_KEYS)}, got {json_type(table)}")]
    problems = key_problems(table, TABLE_KEYS, ("id", "description", "rows", "columns", "cells"), "table")
    if problems:
        return [], problems
    table_id = table["id"]
    guard = None
    if "when" in table:
        guard, found = parse_condition(table["when"], facts, named)
        problems.extend(p.prefixed("when") for p in found)
    row_fact = _axis_fact(table["rows"], facts, ROW_TYPES, ("rows",), problems)
    columns = table["columns"]
    if not isinstance(columns, Mapping) or "fact" not in columns:
        problems.append(Problem("columns must be a mapping with 'fact' and either 'values' or 'bands'",
                                ("columns",)))
        return [], problems
    problems.extend(key_problems(columns, ("fact", "values", "bands"), (), "columns", ("columns",)))
    if ("values" in columns) == ("bands" in columns):
        problems.append(Problem("columns take either 'values' (one column per value) or 'bands' "
                                "(one column per range), not both or neither", ("columns",)))
        return [], problems
    kinds = VALUE_COLUMN_TYPES if "values" in columns else BAND_COLUMN_TYPES
    col_fact = _axis_fact(columns["fact"], facts, kinds, ("columns", "fact"), problems)
    if row_fact is None or col_fact is None or problems:
        return [], problems
    if row_fact.name == col_fact.name:
        problems.append(Problem(f"rows and columns read the same fact {row_fact.name!r}", ("columns", "fact")))
        return [], problems

    # columns: (name, raw condition on the column fact)
    if "values" in columns:
        headers = _value_columns(columns["values"], col_fact, problems)
    else:
        headers = _band_columns(columns["bands"], col_fact, problems)
    cells = table["cells"]
    if not isinstance(cells, Mapping) or not cells:
        problems.append(Problem(f"cells must map each {row_fact.name} value to a list of priorities, "
                                f"got {json_type(cells)}", ("cells",)))
        return [], problems
    if problems:
        return [], problems
    _check_rows(cells, row_fact, len(headers), [name for name, _ in headers], problems)
    if problems:
        return [], problems

    description = table["description"]
    out = []
    for row, priorities in cells.items():
        for (col_name, col_cond), priority in zip(headers, priorities):
            raw = {"all": [{row_fact.name: row}, {col_fact.name: col_cond}]}
            cond, found = parse_condition(raw, facts)
            # the headers were checked one by one above, so this parse cannot fail; keep its problems anyway
            problems.extend(p.prefixed("cells", row) for p in found)
            if cond is None:
                continue
            if guard is not None:
                cond = AllOf((guard, cond))
            what = f"{row_fact.name} = {row}, {_column_text(col_fact, col_name, col_cond)}"
            out.append(RuleDef(f"{table_id}.{row}.{col_name}", f"{description} ({what})", priority, cond,
                               position + len(out), kind="cell", path=("cells", row)))
    return out, problems


def _column_text(fact: Fact, name: str, cond) -> str:
    if isinstance(cond, Mapping):
        ops = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        return " and ".join(f"{fact.name} {ops[op]} {value}" for op, value in cond.items())
    return f"{fact.name} = {name}"


def _axis_fact(name, facts, types, path, problems) -> Fact | None:
    fact = facts.get(name) if isinstance(name, str) else None
    if fact is None:
        hint = did_you_mean(name, list(facts))
        problems.append(Problem(f"unknown fact {describe(name)}",
                                path, suggestion=hint))
        return None
    if fact.type not in types:
        problems.append(Problem(f"{fact.type} fact {fact.name!r} cannot be a table axis here "
                                f"(use a fact of type {' or '.join(types)})", path))
        return None
    return fact


def _value_columns(values, fact: Fact, problems) -> list[tuple[str, object]]:
    path = ("columns", "values")
    if not isinstance(values, list) or not values:
        problems.append(Problem(f"values must be a non-empty list, got {json_type(values)}", path))
        return []
    headers = []
    seen = set()
    for j, value in enumerate(values):
        _, found = parse_condition({fact.name: value}, {fact.name: fact})
        problems.extend(p.at(path=path + (j,)) for p in found)
        if found:
            continue
        if value in seen:
            problems.append(Problem(f"overlap: {fact.name} {describe(value)} is a column twice", path + (j,)))
        seen.add(value)
        name = str(value).lower() if isinstance(value, bool) else str(value)
        headers.append((name, value))
    missing = [value for value in (_finite_domain(fact) or ()) if value not in seen]
    if missing and not problems:
        listed = ", ".join(describe(value) for value in missing)
        problems.append(Problem(f"gap: no column for {fact.name} {listed}", path))
    return headers


def _band_columns(bands, fact: Fact, problems) -> list[tuple[str, object]]:
    path = ("columns", "bands")
    if not isinstance(bands, Mapping) or not bands:
        problems.append(Problem(f"bands must map a column name to bounds such as {{gte: 2}}, got {json_type(bands)}",
                                path))
        return []
    headers = []
    intervals: list[_Band] = []
    for name, bounds in bands.items():
        here = path + (name,)
        if not isinstance(name, str) or not name or any(c in name for c in ". "):
            problems.append(Problem(f"a band name must be a word without dots or spaces, got {describe(name)}",
                                    here, on_key=True))
            continue
        if not isinstance(bounds, Mapping) or not bounds or any(op not in BAND_OPS for op in bounds):
            problems.append(Problem(f"a band is one or two bounds from {', '.join(BAND_OPS)}, "
                                    f"e.g. {{gte: 2}} or {{gte: 2, lt: 10}}", here))
            continue
        _, found = parse_condition({fact.name: dict(bounds)}, {fact.name: fact})
        if found:
            problems.extend(p.at(path=here + tuple(p.path[1:])) for p in found)
            continue
        band = _interval(name, bounds, fact)
        if band is None:
            problems.append(Problem(f"band {name!r} holds no value of {fact.name}", here))
            continue
        intervals.append(band)
        headers.append((name, dict(bounds)))
    if problems:
        return headers
    lo_limit = -math.inf if fact.minimum is None else fact.minimum
    hi_limit = math.inf if fact.maximum is None else fact.maximum
    ordered = sorted(intervals, key=lambda b: (b.lo, not b.lo_in))
    for a, b in zip(ordered, ordered[1:]):
        if b.lo < a.hi or (b.lo == a.hi and a.hi_in and b.lo_in):
            problems.append(Problem(f"overlap: bands {a.name!r} ({a.describe(fact.name)}) and {b.name!r} "
                                    f"({b.describe(fact.name)}) both hold {fact.name} {_num(max(b.lo, a.lo))}"
                                    if b.lo == a.hi else
                                    f"overlap: bands {a.name!r} ({a.describe(fact.name)}) and {b.name!r} "
                                    f"({b.describe(fact.name)}) overlap", path + (b.name,)))
    if problems:
        return headers
    # gaps, walking from the lowest value the fact may take
    edge, edge_in = lo_limit, True  # everything below (edge, edge_in) is covered
    for band in ordered:
        if _starts_after(band, edge, edge_in, fact):
            problems.append(Problem(f"gap: {_gap_text(fact, edge, edge_in, band.lo, not band.lo_in)} is in no band",
                                    path + (band.name,)))
        edge, edge_in = band.hi, not band.hi_in
        if fact.type == "integer" and band.hi != math.inf:
            edge, edge_in = band.hi + 1, True
    if edge < hi_limit or (edge == hi_limit and edge_in and edge != math.inf):
        problems.append(Problem(f"gap: {_gap_text(fact, edge, edge_in, hi_limit, True, upper=True)} is in no band",
                                path))
    return headers


def _interval(name: str, bounds: Mapping, fact: Fact) -> _Band | None:
    """The values ``bounds`` holds; for an integer fact, with closed integer ends."""
    lo, lo_in, hi, hi_in = -math.inf, False, math.inf, False
    for op, value in bounds.items():
        if op in ("gt", "gte") and (value > lo or (value == lo and op == "gt")):
            lo, lo_in = value, op == "gte"
        elif op in ("lt", "lte") and (value < hi or (value == hi and op == "lt")):
            hi, hi_in = value, op == "lte"
    if fact.type == "integer":
        if lo != -math.inf:
            lo, lo_in = (math.ceil(lo) if lo_in else math.floor(lo) + 1), True
        if hi != math.inf:
            hi, hi_in = (math.floor(hi) if hi_in else math.ceil(hi) - 1), True
    if lo > hi or (lo == hi and not (lo_in and hi_in)):
        return None
    return _Band(name, lo, lo_in, hi, hi_in)


def _starts_after(band: _Band, edge: float, edge_in: bool, fact: Fact) -> bool:
    """True if some value from ``edge`` (inclusive iff ``edge_in``) up to the band's start is uncovered."""
    if band.lo == -math.inf:
        return False
    if band.lo > edge:
        return True
    return band.lo == edge and edge_in and not band.lo_in


def _gap_text(fact: Fact, lo, lo_in, hi, hi_in, upper: bool = False) -> str:
    """The uncovered values from ``lo`` up to ``hi`` (the next band's start, or the fact's maximum)."""
    name = fact.name
    if fact.type == "integer" and not upper:
        last = hi if hi_in else hi - 1
        if lo == -math.inf:
            return f"{name} <= {_num(last)}"
        if last == lo:
            return f"{name} {_num(lo)}"
        return f"{name} {_num(lo)} to {_num(last)}"
    if upper:
        top = "" if hi == math.inf else f" and <= {_num(hi)}"
        return f"{name} {'>=' if lo_in else '>'} {_num(lo)}{top}"
    lower = "" if lo == -math.inf else f"{'>=' if lo_in else '>'} {_num(lo)} and "
    return f"{name} {lower}{'<=' if hi_in else '<'} {_num(hi)}"


def _finite_domain(fact: Fact) -> tuple | None:
    if fact.type == "enum":
        return tuple(fact.values)
    if fact.type == "boolean":
        return (True, False)
    return None


def _check_rows(cells: Mapping, fact: Fact, width: int, names: list[str], problems: list[Problem]) -> None:
    for row, priorities in cells.items():
        here = ("cells", row)
        if not isinstance(row, str) or (fact.type == "enum" and row not in fact.values):
            hint = did_you_mean(row, list(fact.values or ()))
            what = repr(row) if isinstance(row, str) else describe(row)
            problems.append(Problem(f"{what} is not a value of {fact.type} fact {fact.name!r}"
                                   , here, on_key=True,
                                    suggestion=hint))
            continue
        if not isinstance(priorities, list):
            problems.append(Problem(f"row {row!r} must be a list of {width} priorities (one per column: "
                                    f"{', '.join(names)}), got {json_type(priorities)}", here))
            continue
        for j, priority in enumerate(priorities):
            if not isinstance(priority, str) or priority not in PRIORITIES:
                problems.append(Problem(f"a cell holds one of {', '.join(PRIORITIES)}, got {describe(priority)}",
                                        here + (j,)))
        if len(priorities) < width:
            missing = ", ".join(names[len(priorities):])
            problems.append(Problem(f"gap: row {row!r} has no cell for column {missing}", here))
        elif len(priorities) > width:
            problems.append(Problem(f"row {row!r} has {len(priorities)} cells for {width} columns", here))
    domain = _finite_domain(fact)
    missing = [value for value in (domain or ()) if value not in cells]
    if missing:
        listed = ", ".join(repr(value) for value in missing)
        problems.append(Problem(f"gap: no row for {fact.name} {listed}", ("cells",)))
