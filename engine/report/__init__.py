"""Renderers: library results as text, JSON, Markdown, JUnit or GitHub annotations.

Each module has one job and returns strings, lists of lines or JSON-ready dicts;
none prints, exits or imports click, so the library and the ``triage`` command
share them.  What ``__all__`` names is the stable surface; the modules hold a
few more helpers the command uses (tables, ``fmt`` lines).

    from engine import PolicySet, validate
    from engine.report import render_problems, policytest_junit
    print(render_problems(validate("policies"), "github"))
    print(policytest_junit(PolicySet.load("policies").run_tests()))
"""
from .calendar import describe_calendar, format_timedelta
from .impact import impact_markdown
from .operator import describe_sla, location_dict, sla_dict
from .policytest import policytest_json, policytest_junit, policytest_text
from .problems import render_problems, validation_summary
from .timeline import decision_svg, timeline_svg
from .tickets import decision_json, decision_record, error_json, error_record, printable

__all__ = [
    "render_problems", "validation_summary",
    "policytest_text", "policytest_json", "policytest_junit",
    "impact_markdown", "describe_calendar", "format_timedelta",
    "decision_svg", "timeline_svg",
    "decision_record", "error_record", "decision_json", "error_json", "printable", "describe_sla", "sla_dict", "location_dict",
]
