"""The policy set a service answers with, and the watcher that reloads it.

``PolicyHolder.current`` is the loaded set with when it was loaded: one tuple, replaced whole, so a
request takes it once and finishes on it even if a reload swaps in a new one meanwhile (the
old set is freed when its last request drops it).  A background thread looks at the policy
directory every ``interval`` seconds (file names, sizes and modification times); when they change,
or on ``request_reload()`` (SIGHUP), it loads the set in that thread.  A set that loads is swapped
in; one that does not leaves the old set serving and is kept as ``last_reload_error``.
"""
from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from typing import Callable, NamedTuple

from ..core.errors import PolicyError, Problem
from ..policyset import PolicySet


class Loaded(NamedTuple):
    policies: PolicySet
    loaded_at: str  # RFC 3339, UTC


def fingerprint(path: str) -> tuple:
    """What changes when any file under ``path`` is added, removed, renamed or written."""
    entries = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            full = os.path.join(root, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            entries.append((full, st.st_size, st.st_mtime_ns))
    return tuple(entries)


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def problem_record(problem: Problem) -> dict:
    where = ":".join(str(x) for x in (problem.file, problem.line, problem.col) if x is not None)
    return {"location": where or None, **problem.to_dict(), "text": str(problem)}


class PolicyHolder:
    """The current policy set of a service, reloaded in the background."""

    def __init__(self, path: str, interval: float = 1.0,
                 on_reload: Callable[[bool], None] | None = None) -> None:
        self.path = path
        self.interval = interval
        self.on_reload = on_reload or (lambda ok: None)
        self.current: Loaded | None = None  # None until a set has loaded (/readyz says 503)
        self.last_reload_error: dict | None = None
        self._seen: tuple = ()
        self._wake = threading.Event()
        self._forced = False
        self._stop = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ reloading
    def reload(self) -> bool:
        """Load the directory now; swap it in if it loads.  True on success."""
        seen = fingerprint(self.path)
        try:
            policies = PolicySet.load(self.path)
        except PolicyError as exc:
            self.last_reload_error = {"at": now_text(), "problems": [problem_record(p) for p in exc.problems]}
            ok = False
        except Exception as exc:  # noqa: BLE001 - an unreadable directory must not stop the watcher
            self.last_reload_error = {"at": now_text(), "problems": [
                {"location": self.path, "text": f"{self.path}: {exc}", "message": str(exc)}]}
            ok = False
        else:
            self.current = Loaded(policies, now_text())  # one assignment: atomic for readers
            self.last_reload_error = None
            ok = True
        self._seen = seen
        self.on_reload(ok)
        return ok

    def mark_seen(self) -> None:
        """Take the directory as it is now as the loaded one (the set was loaded just before)."""
        self._seen = fingerprint(self.path)

    def request_reload(self) -> None:
        """Reload soon, whether or not the files changed (SIGHUP).  Safe from a signal handler."""
        self._forced = True
        self._wake.set()

    def _watch(self) -> None:
        while not self._stop:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop:
                break
            forced, self._forced = self._forced, False
            if forced or fingerprint(self.path) != self._seen:
                self.reload()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="triage-policy-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    # ------------------------------------------------------------------ describing
    def describe(self) -> dict:
        """``GET /v1/policy``."""
        loaded = self.current
        if loaded is None:
            return {"path": self.path, "digest": None, "revision": None, "documents": [], "loaded_at": None,
                    "last_reload_error": self.last_reload_error}
        policies = loaded.policies
        return {"path": policies.path, "digest": policies.digest, "revision": policies.revision,
                "documents": [d.label for d in policies.documents],
                "loaded_at": loaded.loaded_at, "last_reload_error": self.last_reload_error}
