"""What the ``holidays`` package says, remembered on disk between runs.

Importing ``holidays`` and asking it about one country imports every country it knows (about
280 modules): about 120 ms, a third of the command line's start-up.  What it answers (the
country codes, a country's subdivisions, categories, years and languages, and a year's holidays)
depends only on the package's installed version, so it is kept in a small JSON file per version
and read back by later runs, which then never import the package.

The file lives in ``$TRIAGE_CACHE_DIR`` (empty: no file is read or written), else in
``$XDG_CACHE_HOME/triage`` or ``~/.cache/triage``.  It is named after the package's version and
location, so an upgrade starts a new one.  The file is only ever an optimisation: one that cannot
be read or written is ignored, and the answer comes from the package.  Writes replace the file
atomically, so runs in parallel never see half a file (one may drop what another added; it is
asked again).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Any, Callable

_FORMAT = 1
_LOCK = threading.RLock()
_state: dict[str, Any] = {}   # "path": the file (None: none), "data": what it holds


def cache_dir() -> Path | None:
    """Where the file goes, or None when ``TRIAGE_CACHE_DIR`` is set empty."""
    chosen = os.environ.get("TRIAGE_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "triage"


def _identity() -> str | None:
    """The installed ``holidays``: its version and location, found without importing it."""
    try:
        spec = importlib.util.find_spec("holidays")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    package = Path(spec.origin).parent
    try:
        versions = sorted(entry.name for entry in os.scandir(package.parent)
                          if entry.name.startswith("holidays-") and entry.name.endswith((".dist-info", ".egg-info")))
        stamp = (package / "registry.py").stat().st_mtime_ns
    except OSError:
        return None
    return f"{','.join(versions)}|{package}|{stamp}"


def _load() -> dict:
    """The remembered answers (read once per process)."""
    data = _state.get("data")
    if data is not None:
        return data
    path = None
    folder, identity = cache_dir(), _identity()
    if folder is not None and identity is not None:
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        path = folder / f"holidays-{digest}.json"
    data = {"format": _FORMAT, "identity": identity, "answers": {}}
    if path is not None:
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(found, dict) and found.get("format") == _FORMAT and found.get("identity") == identity \
                    and isinstance(found.get("answers"), dict):
                data = found
        except (OSError, ValueError, UnicodeError):
            pass  # no file yet, or one that cannot be read: start afresh
    _state.update(path=path, data=data)
    return data


def _save(data: dict) -> None:
    path = _state.get("path")
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=path.name,
                                         suffix=".tmp", delete=False) as out:
            json.dump(data, out, ensure_ascii=False, separators=(",", ":"))
        os.replace(out.name, path)
    except OSError:
        try:
            os.unlink(out.name)
        except (OSError, NameError):
            pass


def remembered(key: str, ask: Callable[[], Any]) -> Any:
    """The answer stored under ``key``; else ``ask()`` (JSON-ready), stored and written."""
    with _LOCK:
        answers = _load()["answers"]
        if key in answers:
            return answers[key]
    value = ask()  # outside the lock: it may import the package (which takes its own import lock)
    with _LOCK:
        data = _load()
        data["answers"][key] = value
        _save(data)
    return value


def forget() -> None:
    """Read the file again on the next question (after ``TRIAGE_CACHE_DIR`` changed, in tests)."""
    with _LOCK:
        _state.clear()


def days_json(days: dict[date, Any]) -> list[list[str]]:
    """A year's holidays from the package as stored: ``[[iso date, name], ...]`` in its order."""
    return [[day.isoformat(), str(name)] for day, name in days.items()]
