"""CliRunner tests of evaluate, explain, test, schema and calendar."""
import json

import pytest

from cli import cli
from conftest import EXAMPLES, POLICIES

CREATED = "2024-03-27T16:00:00+01:00"


def _invoke(runner, *args, input=None):
    return runner.invoke(cli, [str(a) for a in args], input=input)


def test_evaluate_examples(runner):
    result = _invoke(runner, "evaluate", EXAMPLES / "tickets.jsonl", "--policies", POLICIES)
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 58 and all("priority" in r for r in records)
    assert result.stderr.strip() == "evaluated=58 failed=0"


def test_jsonl_with_a_bad_third_line(runner, tmp_path):
    lines = [{"id": "T-1", "created_at": CREATED, "symptom": "question"},
             {"id": "T-2", "created_at": CREATED, "service": "charging", "symptom": "down",
              "customers_affected": 3, "workaround": False},
             {"id": "T-3", "created_at": CREATED, "users_affected": "lots"},
             {"id": "T-4", "created_at": CREATED, "gdpr_breach_suspected": "major"}]
    path = tmp_path / "tickets.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in lines))
    result = _invoke(runner, "evaluate", path, "--policies", POLICIES)
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("ticket_id") for r in records] == ["T-1", "T-2", "T-3", "T-4"]
    assert [r.get("priority") for r in records] == ["P4", "P2", None, "P1"]
    error = records[2]
    assert (error["line"], error["ticket_id"], error["field"]) == (3, "T-3", "users_affected")
    assert error["error"] == "expected an integer, got string 'lots'"
    assert result.stderr.strip() == "evaluated=3 failed=1"


def test_unreadable_lines_are_reported_and_the_rest_go_on(runner):
    text = ('{"id": "A", "created_at": "%s"}\n' % CREATED + "{not json\n" + '{"id": "B", "id": "C"}\n'
            + "[" * 100000 + "\n" + '{"id": "D", "created_at": "%s"}\n' % CREATED)
    result = _invoke(runner, "evaluate", "-", "--policies", POLICIES, input=text)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("ticket_id") for r in records] == ["A", None, None, None, "D"]
    assert [r.get("line") for r in records[1:4]] == [2, 3, 4]
    assert records[2]["error"] == "duplicate field 'id'"
    assert records[3]["error"] == "invalid JSON: nested too deeply"
    assert result.stderr.strip() == "evaluated=2 failed=3" and result.exit_code == 1


@pytest.mark.parametrize("suffix, text", [
    (".json", json.dumps([{"id": "A", "created_at": CREATED}, {"id": "B", "created_at": CREATED}], indent=2)),
    (".json", json.dumps({"id": "A", "created_at": CREATED}, indent=2) + "\n"),
    (".yaml", f"- id: A\n  created_at: {CREATED}\n- id: B\n  created_at: {CREATED}\n  symptom: visual\n"),
    (".yaml", f"id: A\ncreated_at: {CREATED}\n"),
])
def test_json_and_yaml_inputs(runner, tmp_path, suffix, text):
    path = tmp_path / f"tickets{suffix}"
    path.write_text(text)
    fmt = ["--input-format", suffix[1:]]
    # by extension, explicitly, and on stdin (which is JSONL unless told)
    for source, stdin, options in [(path, None, []), (path, None, fmt), ("-", text, fmt)]:
        result = _invoke(runner, "evaluate", source, "--policies", POLICIES, *options, input=stdin)
        assert result.exit_code == 0, result.stdout + result.stderr
        ids = [json.loads(line)["ticket_id"] for line in result.stdout.splitlines()]
        assert ids == ["A", "B"][: len(ids)] and ids


def test_yaml_error_record_names_the_line(runner, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(f"- id: A\n  created_at: {CREATED}\n- id: B\n  created_at: {CREATED}\n  users_affected: many\n")
    result = _invoke(runner, "evaluate", path, "--policies", POLICIES)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[1]["line"] == 3 and records[1]["field"] == "users_affected"


def test_now_adds_sla_status(runner):
    ticket = json.dumps({"id": "A", "created_at": CREATED, "gdpr_breach_suspected": "major"})
    result = _invoke(runner, "evaluate", "-", "--policies", POLICIES, "--now", "2024-04-02T11:00:00+02:00",
                     input=ticket)
    status = json.loads(result.stdout)["status"]
    assert status["response_breached"] is True and status["resolution_breached"] is False
    assert status["response_business_seconds_left"] == -3600
    assert status["resolution_business_seconds_left"] == 3600


def test_explain_shows_rules_calendar_and_counting(runner):
    ticket = json.dumps({"id": "T-1", "created_at": CREATED, "service": "charging", "symptom": "down",
                         "customers_affected": 3, "workaround": False, "location_id": "loc-aarhus-harbour"})
    result = _invoke(runner, "explain", "-", "--policies", POLICIES, input=ticket)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "priority P2: decided by rule 'core-feature-down'" in out
    assert "calendar partner-support (Europe/Copenhagen)" in out
    assert "response due 2024-04-02T12:00:00+02:00  (4 business_hours from created_at)" in out
    assert "Thu 2024-03-28 closed: holiday (Maundy Thursday)" in out
    assert "operator SLA dc-hub (DC fast-charging hub) for location loc-aarhus-harbour" in out


def test_policy_tests_pass_with_full_coverage(runner):
    result = _invoke(runner, "test", POLICIES, "--min-coverage", "100")
    assert result.exit_code == 0, result.stdout
    # 21 rules, 8 contact-form cells, 3 routes
    assert "rule coverage: 100.0% (32/32 rules matched by a case)" in result.stdout
    assert result.stdout.rstrip().endswith("58 passed, 0 failed")


def test_removing_a_case_fails_min_coverage_and_names_the_rule(runner, policy_copy):
    path = policy_copy / "tests" / "seed-scenarios.yaml"
    text = path.read_text()
    start = text.index("    - name: p2-minor-gdpr-breach")
    end = text.index("    - name:", start + 10)
    path.write_text(text[:start] + text[end:])
    result = _invoke(runner, "test", policy_copy, "--min-coverage", "100")
    assert result.exit_code == 1
    assert "not covered: gdpr-minor" in result.stdout
    assert "below --min-coverage 100%; not covered: gdpr-minor" in result.stderr


def test_failing_case_shows_a_diff(runner, policy_copy):
    path = policy_copy / "tests" / "seed-scenarios.yaml"
    text = path.read_text().replace('"priority": "P3", "decided_by": "exports-not-working"',
                                    '"priority": "P2", "decided_by": "exports-not-working"')
    path.write_text(text)
    result = _invoke(runner, "test", policy_copy)
    assert result.exit_code == 1
    assert "seed-scenarios::p3-exports-not-working FAILED" in result.stdout
    assert '  priority:\n    - expected: "P2"\n    + actual:   "P3"' in result.stdout
    junit = _invoke(runner, "test", policy_copy, "--format", "junit").stdout
    assert 'failures="1"' in junit and "priority: expected &apos;P2&apos;" not in junit


def test_schema_command(runner):
    result = _invoke(runner, "schema", "BusinessCalendar")
    assert json.loads(result.stdout)["title"] == "triage BusinessCalendar"
    ticket = json.loads(_invoke(runner, "schema", "Ticket", "--policies", POLICIES).stdout)
    assert ticket["required"] == ["id", "created_at"] and ticket["additionalProperties"] is False
    bad = _invoke(runner, "schema", "BusinesCalendar")
    assert bad.exit_code == 1 and "did you mean 'BusinessCalendar'?" in bad.stderr


# ----------------------------------------------------------------------------- calendar commands
def test_calendar_holidays_2024_weekdays_are_the_seed_list_and_new_years_day(runner):
    result = _invoke(runner, "calendar", "holidays", "partner-support", "--year", "2024", "--policies", POLICIES)
    from datetime import date
    days = [date.fromisoformat(line.split()[0]) for line in result.stdout.splitlines()]
    weekdays = [d.strftime("%m-%d") for d in days if d.weekday() < 5]
    # the seed's list (published in March, from Maundy Thursday on), and New Year's Day, closed every year
    assert weekdays == ["01-01", "03-28", "03-29", "04-01", "05-09", "05-20", "12-24", "12-25", "12-26", "12-31"]
    assert result.stdout.splitlines()[0] == "2024-01-01 New Year's Day"
    next_year = _invoke(runner, "calendar", "holidays", "partner-support", "--year", "2025", "--policies", POLICIES)
    assert next_year.stdout.splitlines()[0] == "2025-01-01 New Year's Day"


def test_calendar_add_across_easter(runner):
    result = _invoke(runner, "calendar", "add", "partner-support", "2024-03-27T16:00:00+01:00", "4 business_hours",
                     "--policies", POLICIES)
    assert result.exit_code == 0
    assert result.stdout == "2024-04-02T12:00:00+02:00\n"


def test_calendar_between_and_show(runner):
    result = _invoke(runner, "calendar", "between", "partner-support", "2024-03-27T16:00:00+01:00",
                     "2024-04-02T12:00:00+02:00", "--policies", POLICIES)
    assert result.stdout.startswith("4h00m")
    show = _invoke(runner, "calendar", "show", "partner-support", "--from", "2024-12-20", "--policies", POLICIES)
    assert "  mon  09:00-17:00" in show.stdout and "  sat  closed" in show.stdout
    assert "2024-12-24 Tue  Christmas Eve" in show.stdout


@pytest.mark.parametrize("args, message", [
    (["add", "partner-support", "2024-03-27T16:00:00", "4 business_hours"], "timezone-aware"),
    (["add", "partner-support", "2024-03-27T16:00:00+01:00", "4 buisness_hours"], "did you mean '4 business_hours'"),
    (["add", "partner-suport", "2024-03-27T16:00:00+01:00", "1 hours"], "did you mean 'partner-support'"),
    (["holidays", "partner-support", "--year", "1850"], "outside the supported years"),
])
def test_calendar_bad_input(runner, args, message):
    result = _invoke(runner, "calendar", *args, "--policies", POLICIES)
    assert result.exit_code == 1
    assert message in result.stderr


def test_calendar_add_accepts_negative_durations(runner):
    # "--" ends the options, so that the leading "-" is not read as one
    result = _invoke(runner, "calendar", "add", "--policies", POLICIES, "--", "partner-support",
                     "2024-04-02T12:00:00+02:00", "-4 business_hours")
    assert result.stdout == "2024-03-27T16:00:00+01:00\n"
