"""engine.core.suggest: the one "did you mean" lookup and rendering, and how a Problem shows it."""
import pytest

from engine import BusinessCalendar
from engine.core.errors import CalendarError, DurationError, Problem
from engine.core.suggest import close_matches, did_you_mean, hint


def test_did_you_mean_finds_the_closest_choice_or_none():
    assert did_you_mean("sevrice", ["service", "symptom"]) == "service"
    assert did_you_mean("xyz", ["service", "symptom"]) is None
    assert did_you_mean("p1", ("P1", "P2")) == "P1"  # too short for difflib: same but for case
    assert did_you_mean(5, ["5", "6"]) == "5"  # compared as strings
    assert sorted(close_matches("loc-1", ["loc-12", "loc-13", "other"], n=3)) == ["loc-12", "loc-13"]


def test_hint_is_the_one_rendering():
    assert hint(None) == hint([]) == ""
    assert hint("x") == "; did you mean 'x'?"
    assert hint(["a", "b"]) == "; did you mean 'a' or 'b'?"


def test_a_problem_renders_its_suggestion_after_its_text():
    problem = Problem("unknown fact 'sevrice'", ("when",), suggestion="service")
    assert problem.message == "unknown fact 'sevrice'; did you mean 'service'?"
    assert str(problem.at(file="p.yaml", line=3, col=5)) == \
        "p.yaml:3:5: when: unknown fact 'sevrice'; did you mean 'service'?"
    assert problem.to_dict()["message"] == problem.message and problem.to_dict()["suggestion"] == "service"
    quiet = Problem("quote it: 'NO'", suggestion="'NO'", show_suggestion=False)
    assert quiet.message == "quote it: 'NO'" and quiet.suggestion == "'NO'"
    assert Problem("no suggestion").message == "no suggestion"


def test_duration_error_keeps_its_text_apart():
    error = DurationError("unknown duration unit 'hourz'", "8 hours")
    assert str(error) == "unknown duration unit 'hourz'; did you mean '8 hours'?"
    assert error.text == "unknown duration unit 'hourz'"


def test_an_invalid_calendar_shows_each_suggestion_once():
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar.from_spec("bad", {"timezone": "Europe/Copenhagn", "hours": {"mon-fri": ["9:00-17:00"]}})
    assert str(caught.value) == (
        "calendar 'bad' is invalid: timezone: unknown time zone 'Europe/Copenhagn'; did you mean "
        "'Europe/Copenhagen'?; hours.mon-fri[0]: invalid interval '9:00-17:00': expected 'HH:MM-HH:MM' "
        "(end may be 24:00); did you mean '09:00-17:00'?")
