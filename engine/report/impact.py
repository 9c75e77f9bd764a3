"""An impact report (``PolicySet.compare`` / ``compare_files``) as Markdown for a pull request."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tooling.impact import ImpactReport


def impact_markdown(report: ImpactReport) -> str:
    """The impact report as Markdown, ready to paste into a pull request."""
    d = report.to_dict()
    def policy(side):
        return f"`{side['revision'] or side['path']}` ({side['digest'][:19]}…)"
    lines = [f"### Policy impact on {d['tickets']:,} tickets", "",
             f"base {policy(d['base'])} → head {policy(d['head'])}", "",
             f"- **{d['changed']:,}** tickets change: **{d['priority_changed']:,}** priority, "
             f"**{d['due_moved']:,}** due dates, **{d['operator_sla_changed']:,}** operator SLA",
             f"- failing under base only: {d['failed_under_base_only']:,}; under head only: "
             f"{d['failed_under_head_only']:,}; under both: {d['failed_under_both']:,}", ""]
    lines += ["#### Priority transitions (rows: base, columns: head)", "",
              "| base \\ head | P1 | P2 | P3 | P4 |", "|---|---|---|---|---|"]
    for base, row in d["priority_matrix"].items():
        cells = [f"**{n}**" if n and base != head else (str(n) if n else "·") for head, n in row.items()]
        lines.append(f"| {base} | " + " | ".join(cells) + " |")
    if d["due_shift"]:
        lines += ["", "#### Due-date shifts (hours, moved tickets only)", "",
                  "| due date | tickets | earlier | later | min | median | max |", "|---|---|---|---|---|---|---|"]
        for name, st in d["due_shift"].items():
            lines.append(f"| {name} | {st['count']:,} | {st['earlier']:,} | {st['later']:,} | "
                         f"{st['min_hours']:+.1f} | {st['median_hours']:+.1f} | {st['max_hours']:+.1f} |")
    if d["operator_sla_changes"]:
        lines += ["", "#### Operator SLA changes", ""]
        lines += [f"- {field}: {n:,} tickets" for field, n in sorted(d["operator_sla_changes"].items())]
    if d["examples"]:
        lines += ["", "#### Largest changes", "", "| ticket | line | priority | response shift | resolution shift | notes |",
                  "|---|---|---|---|---|---|"]
        for ex in d["examples"]:
            shift = ex["shift_hours"]
            def cell(name):
                return f"{shift[name]:+.1f} h" if name in shift else ""
            lines.append(f"| {ex['ticket_id']} | {ex['line']} | {ex['base_priority']} → {ex['head_priority']} | "
                         f"{cell('response_due')} | {cell('resolution_due')} | {'; '.join(ex['notes'])} |")
    return "\n".join(lines)
