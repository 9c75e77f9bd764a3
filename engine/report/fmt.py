"""What ``format_policies`` did (or would do) to each file, and a one-line summary."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ..tooling.fmt import FormatResult


def fmt_changes(results: Sequence[FormatResult], check: bool) -> list[str]:
    """``reformatted F`` (``would reformat F`` when only checking) per changed file."""
    return [f"{'would reformat' if check else 'reformatted'} {r.file}" for r in results if r.changed]


def fmt_summary(results: Sequence[FormatResult], check: bool) -> str:
    """``2 files reformatted, 5 unchanged``; files that could not be read count as neither."""
    changed = sum(1 for r in results if r.changed)
    unreadable = sum(1 for r in results if r.problem)
    return (f"{changed} file{'s' * (changed != 1)} {'would be ' if check else ''}reformatted, "
            f"{len(results) - changed - unreadable} unchanged")
