"""The impact of a policy change on a ticket corpus, before it merges.

Every ticket is evaluated under the base and the head policy sets, in one
streaming pass.  The report counts priority transitions (a P1–P4 × P1–P4
matrix), due dates that moved (with the distribution of the shift), operator
SLA changes, tickets that fail under one version only, and keeps the largest
changes as examples.
"""
from __future__ import annotations

import heapq
import io
import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any, Callable, Iterable

from ._errors import TicketError, TriageError

PRIORITIES = ("P1", "P2", "P3", "P4")
DUE_FIELDS = ("response_due", "resolution_due")
OPERATOR_FIELDS = ("id", "flagged", "first_level_due", "second_level_due", "total_due")


@dataclass
class Change:
    ticket_id: str
    line: int
    base_priority: str | None
    head_priority: str | None
    shifts: dict[str, float]            # field -> seconds moved (head - base)
    notes: list[str]

    @property
    def weight(self) -> tuple:
        return (self.base_priority != self.head_priority, max((abs(s) for s in self.shifts.values()), default=0))


@dataclass
class ImpactReport:
    base: dict
    head: dict
    tickets: int = 0
    failed_both: int = 0
    priority_changed: int = 0
    matrix: dict[str, dict[str, int]] = field(default_factory=lambda: {b: {h: 0 for h in PRIORITIES}
                                                                      for b in PRIORITIES})
    due_moved: int = 0
    shifts: dict[str, list[float]] = field(default_factory=lambda: {f: [] for f in DUE_FIELDS})
    operator_changed: int = 0
    operator_changes: dict[str, int] = field(default_factory=dict)
    only_base_fails: int = 0
    only_head_fails: int = 0
    changed: int = 0
    examples: list[Change] = field(default_factory=list)

    def shift_summary(self) -> dict[str, dict[str, float]]:
        """Per due-date field: count, min, median, max of the shift in hours (moved tickets only)."""
        out = {}
        for name, values in self.shifts.items():
            if values:
                hours = [v / 3600 for v in values]
                out[name] = {"count": len(hours), "min_hours": min(hours), "median_hours": median(hours),
                             "max_hours": max(hours),
                             "earlier": sum(1 for h in hours if h < 0), "later": sum(1 for h in hours if h > 0)}
        return out

    def to_dict(self) -> dict:
        return {
            "base": self.base, "head": self.head, "tickets": self.tickets, "changed": self.changed,
            "priority_changed": self.priority_changed, "priority_matrix": self.matrix,
            "due_moved": self.due_moved, "due_shift": self.shift_summary(),
            "operator_sla_changed": self.operator_changed, "operator_sla_changes": self.operator_changes,
            "failed_under_base_only": self.only_base_fails, "failed_under_head_only": self.only_head_fails,
            "failed_under_both": self.failed_both,
            "examples": [{"ticket_id": c.ticket_id, "line": c.line, "base_priority": c.base_priority,
                          "head_priority": c.head_priority,
                          "shift_hours": {k: v / 3600 for k, v in c.shifts.items()}, "notes": c.notes}
                         for c in self.examples],
        }


def _outcome(policies: Any, ticket: Any):
    try:
        return policies.evaluate(ticket)
    except TicketError as exc:
        return str(exc)


def _operator_fields(decision: Any) -> dict:
    op = decision.operator_sla
    if op is None:
        return {}
    return {"id": op.sla.id, "flagged": op.flagged, "first_level_due": op.first_level_due,
            "second_level_due": op.second_level_due, "total_due": op.total_due}


def compare(base: Any, head: Any, items: Iterable, top: int = 10,
            progress: Callable[[int], None] | None = None) -> ImpactReport:
    """Evaluate every ``TicketInput`` of ``items`` under ``base`` and ``head`` (PolicySets)."""
    report = ImpactReport(_describe(base), _describe(head))
    heap: list = []
    for n, item in enumerate(items):
        if progress and n % 1000 == 0:
            progress(n)
        report.tickets += 1
        if item.error is not None:
            report.failed_both += 1
            continue
        a, b = _outcome(base, item.ticket), _outcome(head, item.ticket)
        if isinstance(a, str) or isinstance(b, str):
            if isinstance(a, str) and isinstance(b, str):
                report.failed_both += 1
                continue
            ticket_id = (b if isinstance(a, str) else a).ticket_id
            if isinstance(a, str):
                report.only_base_fails += 1
                note = "fails under base: " + a
            else:
                report.only_head_fails += 1
                note = "fails under head: " + b
            report.changed += 1
            _keep(heap, top, Change(ticket_id, item.line, None if isinstance(a, str) else a.priority,
                                    None if isinstance(b, str) else b.priority, {}, [note]), n)
            continue
        change = None
        if a.priority != b.priority:
            report.priority_changed += 1
            report.matrix[a.priority][b.priority] += 1
            change = Change(a.ticket_id, item.line, a.priority, b.priority, {},
                            [f"priority {a.priority} -> {b.priority}"])
        moved = False
        for name in DUE_FIELDS:
            delta = (getattr(b, name) - getattr(a, name)).total_seconds()
            if delta:
                moved = True
                report.shifts[name].append(delta)
                if change is None:
                    change = Change(a.ticket_id, item.line, a.priority, b.priority, {}, [])
                change.shifts[name] = delta
        if moved:
            report.due_moved += 1
        if a.operator_sla is not None or b.operator_sla is not None:
            op_a, op_b = _operator_fields(a), _operator_fields(b)
            differing = [f for f in OPERATOR_FIELDS if op_a.get(f) != op_b.get(f)]
            if differing:
                report.operator_changed += 1
                for f in differing:
                    report.operator_changes[f] = report.operator_changes.get(f, 0) + 1
                if change is None:
                    change = Change(a.ticket_id, item.line, a.priority, b.priority, {}, [])
                if op_a.get("id") != op_b.get("id"):
                    change.notes.append(f"operator SLA {op_a.get('id')} -> {op_b.get('id')}")
                else:
                    change.notes.append("operator SLA " + ", ".join(differing) + " changed")
        if change is not None:
            report.changed += 1
            _keep(heap, top, change, n)
    report.examples = [c for _, _, c in sorted(heap, key=lambda e: (e[0], -e[1]), reverse=True)]
    return report


def _keep(heap: list, top: int, change: Change, n: int) -> None:
    entry = (change.weight, -n, change)
    if len(heap) < top:
        heapq.heappush(heap, entry)
    elif entry[:2] > heap[0][:2]:
        heapq.heapreplace(heap, entry)


def _describe(policies: Any) -> dict:
    return {"path": policies.path, "digest": policies.digest, "revision": policies.revision}


# --------------------------------------------------------------------------- git
def checkout_policies(rev: str, policy_dir: str | os.PathLike, into: str | os.PathLike) -> Path:
    """Extract ``policy_dir`` as of git revision ``rev`` into the folder ``into`` (not the work tree).

    Returns the extracted policy directory.  ``TriageError`` if ``rev`` or the
    directory cannot be read from git.
    """
    folder = Path(policy_dir).resolve()
    try:
        top = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=30)
        if top.returncode != 0:
            raise TriageError(f"{policy_dir} is not inside a git work tree: {top.stderr.strip()}")
        root = Path(top.stdout.strip())
        rel = folder.relative_to(root).as_posix() or "."
        archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", rev, "--", rel],
                                 capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        raise TriageError(f"cannot run git: {exc}") from None
    if archive.returncode != 0:
        raise TriageError(f"cannot read {rel} at {rev}: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return Path(into) / rel


def policies_at(rev: str, policy_dir: str | os.PathLike, loader: Callable[[Path], Any]) -> Any:
    """Load the policy set of ``policy_dir`` as of ``rev`` with ``loader``; the work tree is not touched."""
    with tempfile.TemporaryDirectory(prefix="triage-base-") as tmp:
        return loader(checkout_policies(rev, policy_dir, tmp))
