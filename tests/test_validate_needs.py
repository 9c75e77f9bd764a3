"""Validate what evaluation will need: a calendar a priority counts business time on is open some
day of its supported years, and some TriagePolicy is in effect today.  (The exact messages and
their file:line:col are in tests/fixtures/broken/calendar-never-open.yaml and not-in-effect-yet.yaml.)"""
from datetime import date

import pytest

from conftest import mutate
from engine import PolicyError, PolicySet
from engine.calendar.index import first_open_day
from engine.calendar.spec import compile_calendar_spec
from engine.policy.checks import run_checks
from engine.policy.loader import read_policy_dir

EVERY_DATE = [{"date": f"{d:%m-%d}", "name": "closed"}
              for d in (date.fromordinal(date(2024, 1, 1).toordinal() + i) for i in range(366))]
WEEKDAYS = {"mon-fri": ["09:00-17:00"]}


@pytest.mark.parametrize("spec, first", [
    ({"hours": WEEKDAYS}, date(1970, 1, 1)),
    ({"hours": WEEKDAYS, "holidays": {"country": "DK"}}, date(1970, 1, 2)),
    ({"hours": {"sat": ["10:00-12:00"]}}, date(1970, 1, 3)),
    ({"hours": {"mon-fri": []}}, None),
    ({"hours": WEEKDAYS, "holidays": {"include": EVERY_DATE}}, None),
    ({"hours": WEEKDAYS, "holidays": {"country": "DK", "include": EVERY_DATE}}, None),
    ({"hours": WEEKDAYS, "holidays": {"include": EVERY_DATE, "exclude": [{"date": "2050-03-01"}]}}, date(2050, 3, 1)),
    ({"hours": {"mon-fri": []}, "special_hours": [{"date": "2030-05-05", "hours": ["10:00-11:00"]}]}, date(2030, 5, 5)),
    ({"hours": WEEKDAYS, "holidays": {"include": EVERY_DATE},
      "special_hours": [{"date": "2031-02-03", "hours": ["10:00-11:00"]}]}, date(2031, 2, 3)),  # opens on a holiday
])
def test_first_open_day(spec, first):
    rules = compile_calendar_spec("c", {"timezone": "Europe/Copenhagen", **spec})
    assert first_open_day(rules) == first


def _problems(path, today="2024-06-01"):
    result = read_policy_dir(path)
    assert not result.problems
    return [f"{p.file.rsplit('/', 1)[-1]}:{p.line}: {p.message}" for p in run_checks(result.documents, today=today)]


def test_a_priority_on_a_calendar_without_hours_is_refused_at_load(policy_copy):
    line, _ = mutate(policy_copy / "calendars.yaml", '    mon-fri: ["09:00-17:00"]\n  holidays:\n    country: DK\n'
                     "    categories: [public]         # Store",
                     "    mon-fri: []\n  holidays:\n    country: DK\n    categories: [public]         # Store")
    with pytest.raises(PolicyError) as caught:
        PolicySet.load(policy_copy, git=False)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.col) == ("policies/priorities.yaml", 12, 13)
    assert problem.message == ("calendar 'partner-support' is never open in 1970-2100 (it has no opening hours), "
                               "so the business-time targets of P1, P2, P3 and P4 cannot be computed")


def test_calendar_time_targets_need_no_open_time(policy_copy):
    (policy_copy / "extra.yaml").write_text("""\
apiVersion: triage/v1
kind: BusinessCalendar
metadata: {name: closed}
spec: {timezone: UTC, hours: {mon-fri: []}}
---
apiVersion: triage/v1
kind: PriorityTargets
metadata: {name: wall-clock}
spec:
  calendar: closed
  priorities:
    P1: {name: Outage, response: 1 hours, resolution: 2 days}
""")
    assert _problems(policy_copy) == [
        "extra.yaml:4: the calendar has no open time: business durations on it cannot be computed"]


def test_a_calendar_closed_only_in_a_later_version_is_refused_from_that_date(policy_copy):
    with open(policy_copy / "calendars.yaml", "a") as handle:
        handle.write("""---
apiVersion: triage/v1
kind: BusinessCalendar
metadata: {name: installers, effective_from: 2030-01-01}
spec: {timezone: Europe/Copenhagen, hours: {mon-fri: []}}
""")
    assert [p for p in _problems(policy_copy) if "never open" in p] == [
        "channels.yaml:60: calendar 'installers' is never open in 1970-2100 (it has no opening hours), so the "
        "business-time targets of P1, P2, P3 and P4 cannot be computed"]


@pytest.mark.parametrize("dates, today, warned", [
    (["2099-01-01"], "2024-06-01", "2099-01-01"),
    (["2025-01-01"], "2024-12-31", "2025-01-01"),
    (["2025-01-01"], "2025-01-01", None),
    (["2025-01-01", "2030-01-01"], "2024-12-31", "2025-01-01"),
    (["2020-01-01", "2030-01-01"], "2024-12-31", None),
])
def test_a_set_with_no_triage_policy_in_effect_today_is_a_warning(policy_copy, dates, today, warned):
    text = (policy_copy / "triage.yaml").read_text()
    marker = "  description: Smart triage of business-partner tickets into P1-P4\n"
    versions = [text.replace(marker, f"{marker}  effective_from: {day}\n") for day in dates]
    (policy_copy / "triage.yaml").write_text(versions[0])
    for k, version in enumerate(versions[1:]):
        (policy_copy / f"triage-{k}.yaml").write_text(version)
    problems = _problems(policy_copy, today)
    expected = [] if warned is None else [
        f"triage.yaml:17: no TriagePolicy is in effect yet: the first, 'partner-support', takes effect on {warned}, "
        "and a ticket created before then is rejected"]
    assert problems == expected


def test_the_warning_uses_todays_date_by_default(policy_copy):
    mutate(policy_copy / "triage.yaml", "  description: Smart triage of business-partner tickets into P1-P4\n",
           "  description: Smart triage of business-partner tickets into P1-P4\n  effective_from: 2099-01-01\n")
    policies = PolicySet.load(policy_copy, git=False)  # a warning, not an error
    assert [p.message.split(":")[0] for p in policies.warnings] == ["no TriagePolicy is in effect yet"]
