"""The decision log: one JSON line per decision, appended by a background thread.

A request never waits for the disk: ``record`` puts the line on a bounded queue and returns.  When
the queue is full (the disk is slower than the decisions for a long while) the line is dropped and
counted (``dropped``, and ``triage_decision_log_dropped_total``), so the service keeps answering;
a gap in the log is visible in the metrics.  The writer appends what has queued up in one write
and flushes; ``close`` writes everything still queued.

Each line, as OPA's decision logs: ``decision_id``, ``time``, ``policy`` (digest, revision),
``ticket_id``, ``priority``, ``response_due``, ``resolution_due``, ``operator_sla`` due dates, and
``ticket`` (its facts) only with ``log_facts``.
"""
from __future__ import annotations

import queue
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from ..report.tickets import printable_json

_STOP = object()


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


class DecisionLog:
    def __init__(self, path: str, log_facts: bool = False, maxsize: int = 10_000,
                 on_drop: Callable[[], None] | None = None) -> None:
        self.path = path
        self.log_facts = log_facts
        self.dropped = 0
        self.written = 0
        self.on_drop = on_drop or (lambda: None)
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._file = open(path, "ab")  # noqa: SIM115 - closed by close()
        self._thread = threading.Thread(target=self._write, name="triage-decision-log", daemon=True)
        self._thread.start()

    def line(self, decision: Any, ticket: Any) -> bytes:
        """The log line of one decision (without the newline)."""
        op = decision.operator_sla
        record = {
            "decision_id": str(uuid.uuid4()),
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "policy": {"digest": decision.policy["digest"], "revision": decision.policy["revision"]},
            "ticket_id": decision.ticket_id,
            "priority": decision.priority,
            "response_due": _iso(decision.response_due),
            "resolution_due": _iso(decision.resolution_due),
            "operator_sla": None if op is None else {
                "id": op.sla.id, "first_level_due": _iso(op.first_level_due),
                "second_level_due": _iso(op.second_level_due), "total_due": _iso(op.total_due)},
        }
        if self.log_facts:
            record["ticket"] = ticket
        return printable_json(record)

    def record(self, decision: Any, ticket: Any) -> None:
        """Queue one decision's line; never blocks (a full queue drops the line and counts it)."""
        try:
            self._queue.put_nowait(self.line(decision, ticket))
        except queue.Full:
            self.dropped += 1
            self.on_drop()

    def _write(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            lines = []
            stop = item is _STOP
            if not stop:
                lines.append(item)
            while not stop:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                else:
                    lines.append(item)
            if lines:
                try:
                    self._file.write(b"\n".join(lines) + b"\n")
                    self._file.flush()
                    self.written += len(lines)
                except OSError:
                    self.dropped += len(lines)
            if stop:
                return

    def close(self) -> None:
        """Write what is queued, then close the file."""
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        self._file.close()
