"""`triage validate` on the shipped set and on mutated copies of it."""
import json
import os
from pathlib import Path

import pytest

from cli import cli
from conftest import POLICIES, mutate


def _run(runner, policy_dir, *args):
    result = runner.invoke(cli, ["validate", str(policy_dir), *args])
    return result.exit_code, result.stdout, result.stderr


def test_shipped_policies_validate_clean(runner):
    code, out, err = _run(runner, POLICIES, "--strict")
    assert code == 0, out + err
    assert out == ""
    assert "valid (0 errors, 0 warnings)" in err


def _rel(path: Path) -> str:
    """How problems name a file under the working directory: relative to it."""
    return os.path.relpath(path)


# Each mutation: file, text to replace, replacement, the part of the replacement
# where the reported node starts, expected message (after "file:line:col: ").
MUTATIONS = {
    "misspelt unit": ("priorities.yaml", "resolution: 5 business_days", "resolution: 5 buisness_days", "5 buisness",
                      "spec.priorities.P2.resolution: '5 buisness_days' is not a duration; "
                      "did you mean '5 business_days'?"),
    "unknown calendar reference": ("priorities.yaml", "calendar: partner-support", "calendar: partner-suport", "partner-suport",
                                   "spec.calendar: unknown calendar 'partner-suport'; did you mean 'partner-support'?"),
    "second default SLA": ("operator-slas.yaml", "      name: DC fast-charging hub\n",
                           "      name: DC fast-charging hub\n      default: true\n", "true",
                           "spec.slas[0].default: more than one default SLA ('dc-hub', 'standard'); "
                           "exactly one SLA may have 'default: true'"),
    "wrong type": ("operator-slas.yaml", "weekdays_only: true}\n    - id: suburban-ac",
                   "weekdays_only: 3}\n    - id: suburban-ac", "3}",
                   "spec.slas[1].second_level.weekdays_only: expected a boolean, got an integer 3"),
    "unknown key": ("calendars.yaml", "  business_day: 24 hours", "  business_days: 24 hours", "business_days",
                    "spec.business_days: unknown key 'business_days'; did you mean 'business_day'?"),
    "invalid timezone": ("operator-slas.yaml", "timezone: Europe/Copenhagen", "timezone: Europe/Copenhagn", "Europe/Copenhagn",
                         "spec.timezone: unknown time zone 'Europe/Copenhagn'; did you mean 'Europe/Copenhagen'?"),
    "duplicate key": ("triage.yaml", "  default_priority: P4", "  default_priority: P4\n  default_priority: P3", "default_priority: P3",
                      "duplicate key 'default_priority' (first defined at line {line}); each key may appear once"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_mutation_is_reported_at_its_file_and_line(runner, policy_copy, case):
    fname, old, new, marker, message = MUTATIONS[case]
    target = policy_copy / fname
    line, col = mutate(target, old, new)
    before = new[: new.index(marker)]  # where the reported node starts inside the replacement
    if "\n" in before:
        line, col = line + before.count("\n"), len(before) - before.rfind("\n")
    else:
        col += len(before)
    message = message.format(line=line - 1)
    code, out, err = _run(runner, policy_copy)
    assert code == 1, out + err
    lines = out.splitlines()
    assert f"{_rel(target)}:{line}:{col}: {message}" in lines, lines
    # one problem, except a second default, which is reported at both defaults
    assert len(lines) == (2 if case == "second default SLA" else 1), lines


def test_json_format(runner, policy_copy):
    target = policy_copy / "priorities.yaml"
    line, col = mutate(target, "resolution: 4 business_hours", "resolution: 4 hour")
    code, out, _ = _run(runner, policy_copy, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False and report["errors"] == 1 and report["warnings"] == 0
    (problem,) = report["problems"]
    assert problem == {
        "file": _rel(target), "line": line, "col": col + len("resolution: "), "severity": "error",
        "path": "spec.priorities.P1.resolution",
        "message": "'4 hour' is not a duration; did you mean '4 hours'?", "suggestion": "4 hours",
    }


def test_github_format(runner, policy_copy):
    target = policy_copy / "calendars.yaml"
    line, col = mutate(target, "timezone: Europe/Copenhagen    # the seed", "timezone: Mars/Olympus    # the seed")
    code, out, _ = _run(runner, policy_copy, "--format", "github")
    assert code == 1
    assert out.splitlines() == [
        f"::error file={_rel(target)},line={line},col={col + 10}::spec.timezone: unknown time zone "
        "'Mars/Olympus'; use an IANA name like 'Europe/Copenhagen'"]


def test_warnings_do_not_fail_unless_strict(runner, policy_copy):
    target = policy_copy / "priorities.yaml"
    line, col = mutate(target, "resolution: 10 business_days", "resolution: 1 business_days")
    code, out, _ = _run(runner, policy_copy, "--format", "github")
    assert code == 0
    assert out.splitlines() == [
        f"::warning file={_rel(target)},line={line},col={col + 12}::spec.priorities.P3.resolution: resolution "
        "target '1 business_days' is shorter than the response target '2 business_days'"]
    code, _, _ = _run(runner, policy_copy, "--strict")
    assert code == 1


def test_problems_are_all_reported_not_just_the_first(runner, policy_copy):
    mutate(policy_copy / "priorities.yaml", "resolution: 5 business_days", "resolution: 5 buisness_days")
    mutate(policy_copy / "operator-slas.yaml", "timezone: Europe/Copenhagen", "timezone: Europe/Copenhagn")
    mutate(policy_copy / "locations.yaml", "sla: dc-hub}\n    - {id: loc-copenhagen", "sla: dc-hb}\n    - {id: loc-copenhagen")
    code, out, _ = _run(runner, policy_copy)
    assert code == 1
    assert len(out.splitlines()) == 3


def test_usage_error_exits_2(runner):
    result = runner.invoke(cli, ["validate", "--format", "xml"])
    assert result.exit_code == 2


def test_missing_directory_exits_2(runner, tmp_path):
    """Nothing to validate: the command could not run (exit 2, as `triage test` does), not a finding."""
    result = runner.invoke(cli, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "policy directory" in result.stderr and "does not exist" in result.stderr
