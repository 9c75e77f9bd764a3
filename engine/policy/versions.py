"""Effective dating: which version of each (kind, name) is in effect on a date.

Several versions of one (kind, name) may coexist, each with its own
``metadata.effective_from`` (``YYYY-MM-DD``).  A version without one has been
in effect since the beginning of time.  On a date D the version in effect is
the one with the latest ``effective_from`` on or before D.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from typing import Iterable, Sequence, TypeVar

T = TypeVar("T")
BEGINNING = ""  # sorts before every ISO date


def group_versions(docs: Iterable[T]) -> dict[tuple[str, str], list[T]]:
    """``{(kind, name): [versions sorted by effective_from]}``."""
    groups: dict[tuple[str, str], list[T]] = defaultdict(list)
    for doc in docs:
        groups[(doc.kind, doc.name)].append(doc)  # type: ignore[attr-defined]
    for versions in groups.values():
        versions.sort(key=lambda d: d.effective_from or BEGINNING)  # type: ignore[attr-defined]
    return dict(groups)


def in_effect(versions: Sequence[T], day: str) -> T | None:
    """The version in effect on ``day`` (ISO date string), or None if none is yet."""
    keys = [v.effective_from or BEGINNING for v in versions]  # type: ignore[attr-defined]
    i = bisect_right(keys, day)
    return versions[i - 1] if i else None


def change_dates(docs: Iterable[T]) -> list[str]:
    """Every date on which the set of documents in effect changes (plus the beginning)."""
    return sorted({BEGINNING} | {d.effective_from for d in docs if d.effective_from})  # type: ignore[attr-defined]


def snapshot(groups: dict[tuple[str, str], list[T]], day: str) -> list[T]:
    """Every document in effect on ``day``."""
    out = []
    for versions in groups.values():
        doc = in_effect(versions, day)
        if doc is not None:
            out.append(doc)
    return out
