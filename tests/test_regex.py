"""Patterns on stranger text run on RE2 (linear time): a rule's ``matches`` and a fact's ``pattern``.

The timing tests run in a child process (tests/_watchdog.py): a backtracking engine would not
answer, and the watchdog's limit, not a timed assertion, fails the test.
"""
import pytest

from _watchdog import DurableWorker, run_snippet
from cli import cli
from conftest import mutate
from engine import PolicyError, PolicySet
from engine.core.regex import pattern_problem, searcher
from engine.facts.vocabulary import check_facts
from engine.rules.conditions import parse_condition

CATASTROPHIC = "(a+)+$"
LONG_TEXT = "a" * 99_999 + "!"  # 100,000 characters that almost match: the worst case for backtracking
CREATED = "2024-04-02T10:00:00+02:00"
FACTS = {"id": {"type": "string", "required": True}, "created_at": {"type": "datetime", "required": True}}
NOT_SUPPORTED = ("(patterns use RE2 syntax, which matches in linear time: no backreferences, lookaround, "
                 "possessive quantifiers or counts over 1000)")


# --------------------------------------------------------------------------- what is refused


@pytest.mark.parametrize("pattern, reason", [
    (r"(a)\1", r"invalid escape sequence: \1"),
    (r"(?P<x>a)(?P=x)", "invalid perl operator: (?P"),
    ("(?=a)", "invalid perl operator: (?="),
    ("(?!a)", "invalid perl operator: (?!"),
    ("(?<=a)b", "invalid perl operator: (?<="),
    ("(?<!a)b", "invalid perl operator: (?<!"),
    ("a++", "bad repetition operator: ++"),
    ("a{1001}", "invalid repetition size: {1001}"),
    (r"end\Z", r"invalid escape sequence: \Z"),
])
def test_python_only_constructs_are_not_supported(pattern, reason):
    assert pattern_problem(pattern) == f"regular expression {pattern!r} is not supported: {reason} {NOT_SUPPORTED}"


def test_a_broken_pattern_is_invalid():
    assert pattern_problem("([") == "invalid regular expression '([': missing ]: ["
    assert pattern_problem("[b-a]") == "invalid regular expression '[b-a]': invalid character class range: b-a"


@pytest.mark.parametrize("pattern", [CATASTROPHIC, r"^T-\d+$", "(?i)outage", r"\pL+", r"\x{1F600}", "(a|b)*c{2,5}",
                                     "[[:alpha:]]", r"\bdown\b", "a{1000}"])
def test_linear_patterns_are_accepted(pattern):
    assert pattern_problem(pattern) is None


def test_matches_and_fact_pattern_report_the_problem_at_their_value():
    facts = {"title": _fact("title")}
    _, problems = parse_condition({"title": {"matches": r"(a)\1"}}, facts)
    assert [(p.path, p.message) for p in problems] == [
        (("title", "matches"), f"regular expression '(a)\\\\1' is not supported: invalid escape sequence: \\1 "
                               f"{NOT_SUPPORTED}")]
    problems = [p for p in check_facts({**FACTS, "title": {"type": "string", "pattern": "(?=x)"}})]
    assert [(p.path, p.message) for p in problems] == [
        (("title", "pattern"), f"regular expression '(?=x)' is not supported: invalid perl operator: (?= "
                               f"{NOT_SUPPORTED}")]


def test_validate_names_file_line_and_col_of_the_pattern(runner, policy_copy):
    line, _ = mutate(policy_copy / "triage.yaml", "      priority: P1\n      when:\n        service: {in: [web_portal, hub, app, servers]}\n",
                     "      priority: P1\n      when:\n        service: {in: [web_portal, hub, app, servers]}\n"
                     "        id: {matches: '(T)-\\1'}\n")
    result = runner.invoke(cli, ["validate", "policies"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"policies/triage.yaml:{line + 3}:23: spec.rules[0].when.id.matches: regular expression '(T)-\\\\1' is not "
        f"supported: invalid escape sequence: \\1 {NOT_SUPPORTED}")
    with pytest.raises(PolicyError):
        PolicySet.load(policy_copy, git=False)


# --------------------------------------------------------------------------- semantics


def _fact(name, **extra):
    from engine.facts.vocabulary import Fact
    return Fact(name=name, type="string", **extra)


@pytest.mark.parametrize("pattern, text, found", [
    ("down", "the portal is down for all", True),        # a search, not a full match
    ("^down", "the portal is down", False),
    (r"^T-\d+$", "T-123", True),
    (r"^T-\d+$", "T-123\n", False),                      # RE2: $ is the very end (Python also matches before \n)
    (r"\d", "\u0663", False),                            # RE2: \d is ASCII (Python: any Unicode digit)
    (r"\pN", "\u0663", True),                            # ... Unicode classes say so
    ("(?i)OUTAGE", "total outage", True),
    ("(?s)a.b", "a\nb", True),
    ("a.b", "a\nb", False),
    ("x.y", "x\ud800y", True),                           # a lone surrogate is one character, and never raises
    ("\ud800", "x\ud800y", True),
    ("^[^\ud800]+$", "x\udc00y", True),
    ("caf\u00e9", "caf\u00e9 au lait", True),
    (CATASTROPHIC, LONG_TEXT, False),
    (CATASTROPHIC, "a" * 100_000, True),
])
def test_search_semantics(pattern, text, found):
    assert searcher(pattern)(text) is found


def test_searcher_refuses_what_validation_refuses():
    with pytest.raises(ValueError, match="not supported"):
        searcher(r"(a)\1")


def test_policy_set_matches_and_patterns_on_tickets(policy_copy):
    mutate(policy_copy / "triage.yaml",
           "    location_id: {type: string, max_length: 200, description: \"Charging location, for the operator SLA\"}\n",
           "    location_id: {type: string, max_length: 200, description: \"Charging location, for the operator SLA\"}\n"
           "    subject: {type: string, max_length: 100000, pattern: '^[^<>]*$'}\n")
    mutate(policy_copy / "triage.yaml", "  rules:\n",
           "  rules:\n    - {id: outage-in-subject, description: x, priority: P1, when: {subject: {matches: '(?i)outage'}}}\n")
    policies = PolicySet.load(policy_copy, git=False)
    assert policies.evaluate({"id": "T", "created_at": CREATED, "subject": "Total OUTAGE"}).priority == "P1"
    assert policies.evaluate({"id": "T", "created_at": CREATED, "subject": "slow map"}).priority == "P4"
    errors = list(policies.evaluate_many([{"id": "T", "created_at": CREATED, "subject": "<script>"}]))
    assert "does not match pattern" in str(errors[0])


# --------------------------------------------------------------------------- linear time, with a watchdog

RULES = [{"id": "r", "description": "", "priority": "P1", "when": {"subject": {"matches": CATASTROPHIC}}}]


@pytest.fixture(scope="module")
def worker():
    with DurableWorker() as w:
        # imports and the first compilation happen here, outside the timed requests
        w.request({"op": "evaluate", "facts": {**FACTS, "subject": {"type": "string"}}, "rules": RULES,
                   "tickets": [{"id": "T", "created_at": CREATED, "subject": "aaa!"}]}, timeout=60)
        yield w


def test_catastrophic_matches_on_100k_characters_answers_within_a_second(worker):
    facts = {**FACTS, "subject": {"type": "string", "max_length": 100_000}}
    tickets = [{"id": "T1", "created_at": CREATED, "subject": LONG_TEXT},
               {"id": "T2", "created_at": CREATED, "subject": "a" * 100_000}]
    answer = worker.request({"op": "evaluate", "facts": facts, "rules": RULES, "tickets": tickets}, timeout=1.0)
    assert [row["off"] for row in answer["results"]] == [[], ["r"]]


def test_catastrophic_fact_pattern_on_100k_characters_answers_within_a_second(worker):
    facts = {**FACTS, "subject": {"type": "string", "max_length": 100_000, "pattern": CATASTROPHIC}}
    tickets = [{"id": "T1", "created_at": CREATED, "subject": LONG_TEXT}]
    answer = worker.request({"op": "evaluate", "facts": facts, "rules": RULES[:0], "tickets": tickets}, timeout=1.0)
    assert "does not match pattern" in answer["results"][0]["error"]


@pytest.mark.slow
def test_python_re_backtracks_catastrophically():
    # the hazard RE2 removes: Python's re on 30 characters does not answer within 3 s
    result = run_snippet("import re; re.search('(a+)+$', 'a' * 30 + '!')", timeout=3.0)
    assert result.timed_out
