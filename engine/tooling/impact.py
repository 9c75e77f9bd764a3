"""The impact of a policy change on a ticket corpus, before it merges.

Every ticket is evaluated under the base and the head policy sets: in one
streaming pass (``compare``), or for a ticket file in two processes at once
(``compare_files``), one per policy set.  The report counts priority transitions (a P1–P4 × P1–P4
matrix), due dates that moved (with the distribution of the shift), operator
SLA changes, tickets that fail under one version only, and keeps the largest
changes as examples.
"""
from __future__ import annotations

import heapq
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from statistics import median
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, NamedTuple

from ..core.errors import TicketError, TriageError
from ..facts.vocabulary import PRIORITIES

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


class Outcome(NamedTuple):
    """What the comparison needs of one decision: small and cheap to send between processes.
    Instants are integer microseconds since the epoch (only instants and shifts matter here)."""

    ticket_id: str
    priority: str
    response_due: int
    resolution_due: int | None  # None: the targets have no resolution
    operator: tuple | None  # (id, flagged, first_level_due, second_level_due, total_due)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


def outcome(policies: Any, ticket: Any) -> Outcome | str:
    """The outcome of ``ticket`` under ``policies``, or the ticket's error message."""
    try:
        d = policies.evaluate(ticket)
    except TicketError as exc:
        return str(exc)
    op = d.operator_sla
    resolution = None if d.resolution_due is None else (d.resolution_due - _EPOCH) // _US
    return Outcome(d.ticket_id, d.priority, (d.response_due - _EPOCH) // _US, resolution,
                   None if op is None else (op.sla.id, op.flagged, (op.first_level_due - _EPOCH) // _US,
                                            (op.second_level_due - _EPOCH) // _US, (op.total_due - _EPOCH) // _US))


def compare(base: Any, head: Any, items: Iterable, top: int = 10,
            progress: Callable[[int], None] | None = None) -> ImpactReport:
    """Evaluate every ``TicketInput`` of ``items`` under ``base`` and ``head`` (PolicySets), in one pass."""
    def pairs():
        for n, item in enumerate(items):
            if progress and n % 1000 == 0:
                progress(n)
            if item.error is not None:
                yield item.line, None, None
            else:
                yield item.line, outcome(base, item.ticket), outcome(head, item.ticket)
    return summarise(pairs(), _describe(base), _describe(head), top)


def summarise(pairs: Iterable[tuple[int, Any, Any]], base: dict, head: dict, top: int = 10) -> ImpactReport:
    """The report for ``(line, base outcome, head outcome)`` triples (an outcome: ``Outcome``, an
    error message, or None for an input line that could not be read)."""
    report = ImpactReport(base, head)
    heap: list = []
    for n, (line, a, b) in enumerate(pairs):
        report.tickets += 1
        a_ok, b_ok = isinstance(a, Outcome), isinstance(b, Outcome)
        if not (a_ok and b_ok):
            if not a_ok and not b_ok:
                report.failed_both += 1
                continue
            if a_ok:
                report.only_head_fails += 1
                change = Change(a.ticket_id, line, a.priority, None, {}, [f"fails under head: {b}"])
            else:
                report.only_base_fails += 1
                change = Change(b.ticket_id, line, None, b.priority, {}, [f"fails under base: {a}"])
            report.changed += 1
            _keep(heap, top, change, n)
            continue
        change = None
        if a.priority != b.priority:
            report.priority_changed += 1
            report.matrix[a.priority][b.priority] += 1
            change = Change(a.ticket_id, line, a.priority, b.priority, {}, [f"priority {a.priority} -> {b.priority}"])
        moved = False
        for name, x, y in (("response_due", a.response_due, b.response_due),
                           ("resolution_due", a.resolution_due, b.resolution_due)):
            if x != y:
                moved = True
                if change is None:
                    change = Change(a.ticket_id, line, a.priority, b.priority, {}, [])
                if x is None or y is None:  # the target appeared or went away (e.g. a channel's routing)
                    change.notes.append(f"{name} {'added' if x is None else 'removed'}")
                    continue
                delta = (y - x) / 1e6  # seconds
                report.shifts[name].append(delta)
                change.shifts[name] = delta
        if moved:
            report.due_moved += 1
        if a.operator != b.operator:
            op_a, op_b = a.operator or (None,) * 5, b.operator or (None,) * 5
            differing = [f for f, x, y in zip(OPERATOR_FIELDS, op_a, op_b) if x != y]
            report.operator_changed += 1
            for f in differing:
                report.operator_changes[f] = report.operator_changes.get(f, 0) + 1
            if change is None:
                change = Change(a.ticket_id, line, a.priority, b.priority, {}, [])
            if op_a[0] != op_b[0]:
                change.notes.append(f"operator SLA {op_a[0]} -> {op_b[0]}")
            else:
                change.notes.append("operator SLA " + ", ".join(differing) + " changed")
        if change is not None:
            report.changed += 1
            _keep(heap, top, change, n)
    report.examples = [c for _, _, c in sorted(heap, key=lambda e: (e[0], -e[1]), reverse=True)]
    return report


# --------------------------------------------------------------------------- in two processes
# A source is a ``PolicySource`` (engine.policyset): picklable, and ``load()`` gives its PolicySet.


def _outcomes_of_file(source: Any, tickets: str, input_format: str, done: Any = None) -> tuple[dict, list]:
    """Worker: load ``source``, evaluate every ticket of the file; (description, [(line, outcome)]).
    ``done``, a shared value, follows the bytes read."""
    from ..facts.reader import read_tickets
    policies = source.load()
    out = []
    last = 0

    def progress(consumed: int) -> None:
        nonlocal last
        if done is not None and consumed - last >= 1 << 20:
            done.value = last = consumed

    with open(tickets, "rb") as handle:
        for item in read_tickets(handle, format=input_format, progress=progress):
            out.append((item.line, None if item.error is not None else outcome(policies, item.ticket)))
    return _describe(policies), out


def compare_files(base: Any, head: Any, tickets: str, *, input_format: str = "auto",
                  top: int = 10, jobs: int = 2, progress: Callable[[int], None] | None = None) -> ImpactReport:
    """Like ``compare`` for a ticket file, evaluating base and head in parallel processes.

    A second process reads the file and evaluates it under ``head`` while this
    one does the same under ``base``; then this one compares.  ``jobs=1`` does it
    all here.  ``progress`` is called with the bytes of the file done under head
    (the slower side, once base is done)."""
    from ..facts.reader import read_tickets
    if jobs < 2:
        base_set, head_set = base.load(), head.load()
        with open(tickets, "rb") as handle:
            return compare(base_set, head_set, read_tickets(handle, format=input_format, progress=progress),
                           top=top)
    # head in a second process, base here: two cores, and only one result list to send back
    with multiprocessing.Manager() if progress else nullcontext() as manager, \
            ProcessPoolExecutor(max_workers=1) as pool:
        counter = manager.Value("q", 0) if manager else None
        future = pool.submit(_outcomes_of_file, head, tickets, input_format, counter)
        base_desc, a = _outcomes_of_file(base, tickets, input_format)
        while progress and not future.done():
            wait([future], timeout=0.2)
            progress(counter.value)
        head_desc, b = future.result()
    return summarise(((line, x, y) for (line, x), (_, y) in zip(a, b)), base_desc, head_desc, top)


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
        extract_files(tar, into, f"{rel} at {rev}")
    return Path(into) / rel


def extract_files(tar: tarfile.TarFile, into: str | os.PathLike, what: str = "the archive") -> None:
    """Write the regular files and directories of ``tar`` under the existing folder ``into``.

    The members are checked here rather than by ``extractall(filter="data")``,
    which Python has only from 3.11.4 (Debian 12 ships 3.11.2).  ``git archive``
    only ever produces relative names, so anything else means a hostile or
    corrupt archive, and the whole extraction is refused with ``TriageError``:
    absolute names, ``..`` components, symbolic and hard links, devices and
    FIFOs.  Files get the default mode (no owner, set-id or executable bits
    from the archive) and never overwrite one another.
    """
    root = Path(into).resolve()
    for member in tar:
        name = member.name
        parts = PurePosixPath(name).parts
        if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
            raise TriageError(f"cannot read {what}: refusing archive member {name!r} (not a relative path)")
        if not (member.isfile() or member.isdir()):
            raise TriageError(f"cannot read {what}: refusing archive member {name!r} "
                              "(only regular files and directories are extracted)")
        target = root.joinpath(*parts)
        if not target.resolve().is_relative_to(root):  # belt and braces: no links exist under root
            raise TriageError(f"cannot read {what}: refusing archive member {name!r} (outside the target)")
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        try:
            with open(target, "xb") as out:  # "x": a second member of the same name is refused
                shutil.copyfileobj(source, out)
        except FileExistsError:
            raise TriageError(f"cannot read {what}: archive member {name!r} occurs twice") from None
        finally:
            source.close()


def policies_at(rev: str, policy_dir: str | os.PathLike, loader: Callable[[Path], Any]) -> Any:
    """Load the policy set of ``policy_dir`` as of ``rev`` with ``loader``; the work tree is not touched."""
    with tempfile.TemporaryDirectory(prefix="triage-base-") as tmp:
        return loader(checkout_policies(rev, policy_dir, tmp))
