"""Compile validated documents into the objects evaluation needs (once, at load)."""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from ._calendar import BusinessCalendar
from ._loader import PolicyDocument
from ._versions import group_versions


@dataclass(frozen=True)
class Compiled:
    # (kind, name) → versions (sorted by effective_from), each version's compiled object
    calendar_versions: Mapping[str, tuple[tuple[PolicyDocument, BusinessCalendar], ...]]
    calendars: Mapping[str, BusinessCalendar]


def compile_documents(documents: tuple[PolicyDocument, ...]) -> Compiled:
    groups = group_versions(documents)
    calendar_versions = {
        name: tuple((doc, BusinessCalendar.from_spec(name, doc.spec)) for doc in versions)
        for (kind, name), versions in groups.items() if kind == "BusinessCalendar"
    }
    latest = {name: versions[-1][1] for name, versions in calendar_versions.items()}
    return Compiled(MappingProxyType(calendar_versions), MappingProxyType(latest))
