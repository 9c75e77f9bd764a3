"""Answers that cost a lot to find and never change for given inputs, remembered on disk between runs.

Two kinds use it: what the ``holidays`` package answers (importing it, and asking it about one
country, imports every country it knows: about 120 ms, a third of the command line's start-up),
and which policy documents the compiled JSON Schema check found valid (compiling the checks
takes about 30 ms).  Each :class:`Store` is one small JSON file, named after what its answers
depend on (the package's version and location; the checker's version and the schemas), so a
change to any of them starts a new file.

Files live in ``$TRIAGE_CACHE_DIR`` (set empty: no file is read or written), else in
``$XDG_CACHE_HOME/triage`` or ``~/.cache/triage``.  A file is only ever an optimisation: one that
cannot be read or written is ignored and the answer is found again.  Writes replace the file
atomically, so runs in parallel never see half a file (one may drop what another added: it is
found again).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Callable

_FORMAT = 1
MAX_ANSWERS = 2_000  # a file that grew past this starts afresh (policies edited many times): it stays small to read


def cache_dir() -> Path | None:
    """Where the files go, or None when ``TRIAGE_CACHE_DIR`` is set empty."""
    chosen = os.environ.get("TRIAGE_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "triage"


def package_identity(module: str, distribution: str, marker: str) -> str | None:
    """An installed package's version and location, found without importing it: its distribution's
    metadata folders beside it, its folder, and the modification time of its file ``marker``."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    package = Path(spec.origin).parent
    prefix = f"{distribution}-".lower()
    try:
        versions = sorted(entry.name for entry in os.scandir(package.parent) if entry.name.lower().startswith(prefix)
                          and entry.name.endswith((".dist-info", ".egg-info")))
        stamp = (package / marker).stat().st_mtime_ns
    except OSError:
        return None
    return f"{','.join(versions)}|{package}|{stamp}"


class Store:
    """The answers of one kind: ``remembered(key, ask)`` gives the stored answer or asks, stores and
    writes it.  ``identity()`` names what the answers depend on (None: nothing is stored on disk);
    past ``max_answers`` (default ``MAX_ANSWERS``) the file starts afresh."""

    def __init__(self, name: str, identity: Callable[[], str | None], max_answers: int | None = None) -> None:
        self._name = name
        self._max = max_answers  # None: MAX_ANSWERS
        self._identity = identity
        self._lock = threading.RLock()
        self._path: Path | None = None
        self._data: dict | None = None

    def _load(self) -> dict:
        """The stored answers (read once per process, on the first question)."""
        if self._data is not None:
            return self._data
        folder, identity = cache_dir(), self._identity()
        path = None
        if folder is not None and identity is not None:
            path = folder / f"{self._name}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}.json"
        data = {"format": _FORMAT, "identity": identity, "answers": {}}
        if path is not None:
            try:
                found = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(found, dict) and found.get("format") == _FORMAT and \
                        found.get("identity") == identity and isinstance(found.get("answers"), dict):
                    data = found
            except (OSError, ValueError, UnicodeError):
                pass  # no file yet, or one that cannot be read: start afresh
        self._path, self._data = path, data
        return data

    def _save(self, data: dict) -> None:
        if self._path is None:
            return
        name = None
        try:
            import tempfile  # here: most runs only read the store

            self._path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self._path.parent, prefix=self._path.name,
                                             suffix=".tmp", delete=False) as out:
                name = out.name
                json.dump(data, out, ensure_ascii=False, separators=(",", ":"))
            os.replace(name, self._path)
        except (OSError, ValueError):
            if name is not None:
                try:
                    os.unlink(name)
                except OSError:
                    pass

    def remembered(self, key: str, ask: Callable[[], Any], well_formed: Callable[[Any], bool] | None = None) -> Any:
        """The answer stored under ``key``; else ``ask()`` (JSON-ready), stored and written.  An
        exception from ``ask`` stores nothing and reaches the caller.  A stored answer that
        ``well_formed`` refuses (a file edited by hand) is asked again."""
        with self._lock:
            answers = self._load()["answers"]
            if key in answers:
                found = answers[key]
                if well_formed is None or well_formed(found):
                    return found
        value = ask()  # outside the lock: it may import a package (which takes the import lock)
        with self._lock:
            answers = self._load()["answers"]
            if len(answers) >= (self._max or MAX_ANSWERS):
                answers.clear()
            answers[key] = value
            self._save(self._data)
        return value

    def forget(self) -> None:
        """Read the file again on the next question (after ``TRIAGE_CACHE_DIR`` changed)."""
        with self._lock:
            self._path = self._data = None
