"""The exit-code contract: 0 all good, 1 findings, 2 the command could not run.

Findings are bad tickets, validation problems, failed policy tests; "could not
run" is a usage error, unreadable input or a policy set that does not load.
"""
import json

import pytest

from cli import ExitCode, cli
from conftest import POLICIES, mutate

CREATED = "2024-03-27T16:00:00+01:00"
GOOD = json.dumps({"id": "T-1", "created_at": CREATED, "symptom": "question"}) + "\n"
BAD = json.dumps({"id": "T-2", "created_at": CREATED, "users_affected": "lots"}) + "\n"
MISSPELT_UNIT = ("priorities.yaml", "resolution: 5 business_days", "resolution: 5 buisness_days")


def _invoke(runner, *args, input=None):
    return runner.invoke(cli, [str(a) for a in args], input=input)


@pytest.fixture
def broken(policy_copy):
    """A policy set that does not load: one misspelt duration unit."""
    mutate(policy_copy / MISSPELT_UNIT[0], *MISSPELT_UNIT[1:])
    return policy_copy


def test_the_codes():
    assert [int(code) for code in ExitCode] == [0, 1, 2]
    assert ExitCode.findings_if(3) is ExitCode.FINDINGS and ExitCode.findings_if([]) is ExitCode.OK


# --------------------------------------------------------------------------- evaluate
def test_evaluate_0_when_every_ticket_is_evaluated(runner):
    result = _invoke(runner, "evaluate", "-", "--policies", POLICIES, input=GOOD + GOOD)
    assert result.exit_code == 0, result.output
    assert result.stderr == "evaluated=2 failed=0\n"


def test_evaluate_1_when_a_ticket_fails(runner):
    result = _invoke(runner, "evaluate", "-", "--policies", POLICIES, input=GOOD + BAD + GOOD)
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 3  # the rest go on
    assert result.stderr == "evaluated=2 failed=1\n"


def test_evaluate_2_when_the_policy_set_does_not_load(runner, broken):
    result = _invoke(runner, "evaluate", "-", "--policies", broken, input=GOOD)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "spec.priorities.P2.resolution: '5 buisness_days' is not a duration" in result.stderr


def test_evaluate_2_when_the_input_cannot_be_read(runner, tmp_path):
    result = _invoke(runner, "evaluate", tmp_path / "missing.jsonl", "--policies", POLICIES)
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_evaluate_2_on_a_usage_error(runner):
    assert _invoke(runner, "evaluate", "--input-format", "csv", input=GOOD).exit_code == 2


@pytest.mark.parametrize("now, message", [
    ("yesterday", "'yesterday' is not an ISO 8601 date-time"),
    ("2024-04-02T11:00:00", "'2024-04-02T11:00:00' has no UTC offset"),
])
def test_evaluate_2_on_a_bad_now(runner, now, message):
    """Checked before any ticket is read: a naive --now used to fail with exit 1 naming an internal 'a'."""
    result = _invoke(runner, "evaluate", "-", "--policies", POLICIES, "--now", now, input=GOOD)
    assert result.exit_code == 2 and result.stdout == ""
    assert message in result.stderr and "--now" in result.stderr


@pytest.mark.parametrize("now, message", [
    ("", "'' is not an ISO 8601 date-time"),  # was silently ignored
    ("9999-12-31T00:00:00+01:00", "is outside the years the calendars support (1970-2100)"),
    ("0001-01-01T00:00:00+00:00", "is outside the years the calendars support (1970-2100)"),
    ("1970-01-01T00:00:00+00:00", "is outside the years the calendars support"),  # a day before, in New York
])
def test_evaluate_2_on_a_now_nothing_can_be_counted_from(runner, now, message):
    """A --now out of range used to stop the run at the first ticket, dropping the rest."""
    result = _invoke(runner, "evaluate", "-", "--policies", POLICIES, "--now", now, input=GOOD)
    assert result.exit_code == 2 and result.stdout == ""
    assert message in result.stderr and "--now" in result.stderr


def test_evaluate_2_when_policies_is_a_file(runner):
    """It used to report a YAML error of the file."""
    result = _invoke(runner, "evaluate", "-", "--policies", POLICIES / "triage.yaml", input=GOOD)
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr


def test_evaluate_2_when_the_input_is_a_directory(runner, tmp_path):
    result = _invoke(runner, "evaluate", tmp_path, "--policies", POLICIES)
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_evaluate_1_and_every_record_when_a_date_is_out_of_range(runner):
    """A created_at in year 9999 used to stop the run: every later ticket dropped, no counts."""
    far = json.dumps({"id": "T-9", "created_at": "9999-03-27T16:00:00+01:00"}) + "\n"
    result = _invoke(runner, "evaluate", "-", "--policies", POLICIES, input=GOOD + far + GOOD + BAD + GOOD)
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 5
    assert result.stderr == "evaluated=3 failed=2\n"


@pytest.mark.parametrize("text", [
    '{"id": "T", "created_at": "2024-03-27T16:00:00+24:00"}\n',  # fromisoformat's timedelta(hours=24) message
    '{"id": "T", "users_affected": ' + "9" * 5000 + '}\n',       # int()'s sys.set_int_max_str_digits() message
])
def test_messages_speak_the_users_language(runner, text):
    result = _invoke(runner, "evaluate", "-", "--policies", POLICIES, input=text)
    assert result.exit_code == 1
    for internal in ("timedelta", "set_int_max_str_digits", "Traceback", "sys."):
        assert internal not in result.stdout + result.stderr


# --------------------------------------------------------------------------- explain
def test_explain_0_1_2(runner):
    assert _invoke(runner, "explain", "-", "--policies", POLICIES, input=GOOD).exit_code == 0
    bad = _invoke(runner, "explain", "-", "--policies", POLICIES, input=BAD)
    assert bad.exit_code == 1 and "expected an integer" in bad.stderr
    two = _invoke(runner, "explain", "-", "--policies", POLICIES, input=GOOD + GOOD)
    assert two.exit_code == 2 and "explain takes exactly one ticket; - holds more than one" in two.stderr


# --------------------------------------------------------------------------- validate
def test_validate_0_on_a_clean_set(runner):
    assert _invoke(runner, "validate", POLICIES, "--strict").exit_code == 0


def test_validate_1_on_problems(runner, broken):
    result = _invoke(runner, "validate", broken)
    assert result.exit_code == 1
    assert "'5 buisness_days' is not a duration" in result.stdout


def test_validate_2_on_a_usage_error(runner):
    assert _invoke(runner, "validate", POLICIES, "--format", "xml").exit_code == 2


def test_validate_2_when_the_directory_does_not_exist(runner, tmp_path):
    result = _invoke(runner, "validate", tmp_path / "nope")
    assert result.exit_code == 2 and "does not exist" in result.stderr


# --------------------------------------------------------------------------- test
def test_test_0_when_every_case_passes(runner):
    assert _invoke(runner, "test", POLICIES).exit_code == 0


def test_test_1_when_a_case_fails(runner, policy_copy):
    mutate(policy_copy / "tests" / "seed-scenarios.yaml", '"priority": "P3", "decided_by": "exports-not-working"',
           '"priority": "P2", "decided_by": "exports-not-working"')
    result = _invoke(runner, "test", policy_copy)
    assert result.exit_code == 1
    assert result.stdout.rstrip().endswith("57 passed, 1 failed")


def test_test_2_when_the_policy_set_does_not_load(runner, broken):
    result = _invoke(runner, "test", broken)
    assert result.exit_code == 2
    assert "is not a duration" in result.stderr


def test_test_2_when_the_directory_does_not_exist(runner, tmp_path):
    assert _invoke(runner, "test", tmp_path / "nope").exit_code == 2


# --------------------------------------------------------------------------- every command that loads policies
@pytest.mark.parametrize("args", [
    ("explain", "-"),
    ("schema", "Ticket"),
    ("calendar", "holidays", "partner-support", "--year", "2024"),
    ("sla", "list"),
    ("locations", "list"),
], ids=lambda args: " ".join(args[:2]))
def test_a_policy_set_that_does_not_load_is_2_everywhere(runner, broken, args):
    result = _invoke(runner, *args, "--policies", broken, input=GOOD)
    assert result.exit_code == 2, result.output
    assert "is not a duration" in result.stderr
