"""Operator SLAs and locations: JSON records, table rows and a readable description."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

if TYPE_CHECKING:
    from ..sla.operator import Location, OperatorBook, OperatorSLA

SLA_HEADERS = ["ID", "NAME", "DEFAULT", "1ST LEVEL", "2ND LEVEL", "CONTACT", "LOCATIONS"]
LOCATION_HEADERS = ["ID", "NAME", "SLA", "FLAG", "TIMEZONE"]


def sla_dict(book: OperatorBook, sla: OperatorSLA) -> dict:
    """An SLA as JSON: levels, contact, time zone and the ids of the locations that get it."""
    def level(lv) -> dict:
        return {"within": str(lv.within), "weekdays_only": lv.weekdays_only}
    return {"id": sla.id, "name": sla.name, "description": sla.description, "default": sla.default,
            "first_level": level(sla.first_level), "second_level": level(sla.second_level),
            "contact": dict(sla.contact) if sla.contact else None, "timezone": sla.timezone,
            "locations": [loc.id for loc in book.locations_of(sla.id)]}


def location_dict(book: OperatorBook, loc: Location) -> dict:
    """A location as JSON: its SLA, whether it is bound or gets the default, flagged (non-default SLA)."""
    sla, _ = book.sla_for(loc.id)
    return {"id": loc.id, "name": loc.name, "sla": sla.id if sla else None, "bound": loc.sla is not None,
            "flagged": bool(sla and not sla.default), "timezone": loc.timezone or (sla.timezone if sla else None)}


def contact_text(contact: Mapping | None, full: bool = True) -> str:
    """``role: name, phone, email`` (only ``role: name`` unless ``full``); ``""`` without a contact."""
    if not contact:
        return ""
    details = [contact[k] for k in ("phone", "email") if k in contact and full]
    return ", ".join([f"{contact['role']}: {contact['name']}", *details])


def sla_rows(book: OperatorBook) -> list[list[str]]:
    """One row per SLA under ``SLA_HEADERS``."""
    return [[s.id, s.name, "default" if s.default else "", str(s.first_level), str(s.second_level),
             contact_text(s.contact, full=False), str(len(book.locations_of(s.id)))]
            for s in book.slas.values()]


def location_rows(records: Iterable[dict], mark: str = "flagged") -> list[list[str]]:
    """One row per ``location_dict`` record under ``LOCATION_HEADERS``; ``mark`` fills FLAG when flagged."""
    return [[r["id"], r["name"], r["sla"] or "", mark if r["flagged"] else "", r["timezone"] or ""]
            for r in records]


def describe_sla(book: OperatorBook, sla: OperatorSLA) -> list[str]:
    """An SLA for a person: its fields, then its locations (those without a binding marked as such)."""
    lines = [f"{sla.id}  {sla.name}" + ("  (default)" if sla.default else "")]
    for label, value in (("description", sla.description), ("1st level", str(sla.first_level)),
                         ("2nd level", str(sla.second_level)), ("timezone", sla.timezone),
                         ("contact", contact_text(sla.contact) or "none")):
        lines.append(f"  {label:<12} {value}")
    locations = book.locations_of(sla.id)
    lines.append(f"locations ({len(locations)}):")
    width = max((len(loc.id) for loc in locations), default=0)
    lines += [f"  {loc.id:<{width}}  {loc.name}" + ("" if loc.sla else "  (no binding: gets the default)")
              for loc in locations]
    return lines
