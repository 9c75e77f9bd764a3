"""engine.report used as a library: the renderers give what the command prints."""
import json
from datetime import date, datetime, timedelta

import pytest

import engine.report
from cli import cli
from conftest import POLICIES
from engine import PolicySet, Problem, TicketError, TicketInput
from engine.report import (decision_record, describe_calendar, error_record, format_timedelta, policytest_junit,
                           policytest_text, render_problems, validation_summary)
from engine.report.problems import problem_github
from engine.report.progress import ProgressBar
from engine.report.tables import plain_table

CREATED = "2024-03-27T16:00:00+01:00"


def test_every_exported_name_exists():
    assert all(callable(getattr(engine.report, name)) for name in engine.report.__all__)


def test_github_annotations_escape_properties_and_message():
    problem = Problem("bad\nvalue: 50%", ("spec", "timezone"), file="a,b:c.yaml", line=3, col=7)
    assert problem_github(problem) == "::error file=a%2Cb%3Ac.yaml,line=3,col=7::spec.timezone: bad%0Avalue: 50%25"
    warning = Problem("short", severity="warning")
    assert problem_github(warning) == "::warning ::short"


def test_problems_in_each_format_and_the_verdict():
    problems = [Problem("broken", file="p.yaml", line=1, col=2), Problem("odd", severity="warning", file="p.yaml")]
    assert render_problems(problems) == "p.yaml:1:2: broken\np.yaml: warning: odd"
    assert json.loads(render_problems(problems[1:], "json"))["valid"] is True
    assert json.loads(render_problems(problems[1:], "json", strict=True))["valid"] is False
    assert render_problems([], "github") == ""
    assert validation_summary("policies", problems) == "policies: invalid (1 error, 1 warning)"
    assert validation_summary("policies", problems[1:]) == "policies: valid (0 errors, 1 warning)"


def test_policytest_renderers_match_the_command(runner):
    report = PolicySet.load(POLICIES).run_tests()
    assert policytest_text(report).endswith("58 passed, 0 failed")
    for fmt, render in (("text", policytest_text), ("junit", policytest_junit)):
        assert runner.invoke(cli, ["test", str(POLICIES), "--format", fmt]).stdout == render(report) + "\n"


def test_decision_and_error_records():
    policies = PolicySet.load(POLICIES)
    decision = policies.evaluate({"id": "T-1", "created_at": CREATED, "symptom": "question"})
    assert decision_record(decision) == decision.to_dict()
    now = datetime.fromisoformat("2024-04-02T11:00:00+02:00")
    assert decision_record(decision, now)["status"] == decision.status_at(now)
    item = TicketInput(line=4, ticket={"id": "T-3", "created_at": CREATED, "users_affected": "lots"})
    with pytest.raises(TicketError) as caught:
        policies.evaluate(item.ticket)
    record = error_record(item, caught.value)
    assert (record["line"], record["ticket_id"], record["field"]) == (4, "T-3", "users_affected")
    assert error_record(TicketInput(line=2, error="invalid JSON")) == {
        "line": 2, "ticket_id": None, "field": None, "error": "invalid JSON"}


def test_the_json_lines_hold_the_records_values():
    from engine.report import decision_json, error_json
    policies = PolicySet.load(POLICIES)
    decision = policies.evaluate({"id": "T-1", "created_at": CREATED, "location_id": "loc-aarhus-harbour"})
    now = datetime.fromisoformat("2024-04-02T11:00:00+02:00")
    for at in (None, now):
        assert json.loads(decision_json(decision, at)) == decision_record(decision, at)
    item = TicketInput(line=7, ticket={"id": "T-3", "created_at": CREATED, "servce": "app"}, index=2)
    with pytest.raises(TicketError) as caught:
        policies.evaluate(item.ticket)
    assert json.loads(error_json(item, caught.value)) == error_record(item, caught.value)
    assert error_record(item, caught.value)["index"] == 2 and list(error_record(item))[:2] == ["line", "index"]
    # a message quoting text UTF-8 cannot hold is written with the text escaped
    bad = TicketInput(line=1, ticket={"id": "A", "x\udc00": 1})
    with pytest.raises(TicketError) as caught:
        policies.evaluate(bad.ticket)
    assert json.loads(error_json(bad, caught.value))["field"] == "x\\udc00"
    # any other failure of one ticket: its message
    assert json.loads(error_json(bad, RuntimeError("boom")))["error"].startswith("internal error while evaluating")


def test_calendar_description_and_durations():
    assert format_timedelta(timedelta(hours=26, minutes=30)) == "26h30m (95400 s)"
    assert format_timedelta(-timedelta(seconds=90)) == "-0h01m30s (-90 s)"
    lines = describe_calendar(PolicySet.load(POLICIES).calendar("partner-support"), 2, date(2024, 12, 20))
    assert lines[-3:] == ["next holidays:", "  2024-12-24 Tue  Christmas Eve", "  2024-12-25 Wed  Christmas Day"]


def test_plain_table_aligns_and_strips():
    assert plain_table(["A", "LONGER"], [["xyz", ""], ["", "b"]]) == "A    LONGER\nxyz\n     b"


def test_progress_bar_on_a_terminal_goes_to_stderr_only(monkeypatch, capsys):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with ProgressBar(ProgressBar.THRESHOLD, "evaluating") as progress:
        assert progress.bar is not None
        progress.update(ProgressBar.THRESHOLD // 2)
        progress.bar.refresh()
    assert "evaluating" in terminal.getvalue()
    assert capsys.readouterr().out == ""  # stdout carries only the JSON lines
    assert ProgressBar(1024).bar is None  # small inputs get no bar


def test_no_progress_bar_without_a_terminal():
    assert ProgressBar(10 ** 9).bar is None  # tests run without a terminal
