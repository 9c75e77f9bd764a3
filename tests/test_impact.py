"""The impact of a policy change on a ticket corpus."""
import shutil
import subprocess

import pytest

from engine import PolicySet, read_tickets
from engine.tooling.impact import compare, policies_at
from conftest import EXAMPLES, POLICIES, mutate


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path, monkeypatch):
    shutil.copytree(POLICIES, tmp_path / "policies")
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "policies")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _tickets(repo):
    with open(repo / "examples" / "tickets.jsonl", "rb") as handle:
        return list(read_tickets(handle))


def test_changing_one_rule_reports_exactly_the_tickets_that_change(repo):
    mutate(repo / "policies" / "triage.yaml", "      description: Exports not working\n      priority: P3",
           "      description: Exports not working\n      priority: P2")
    status_before = _git(repo, "status", "--porcelain")
    base = policies_at("HEAD", repo / "policies", lambda p: PolicySet.load(p, revision="HEAD"))
    head = PolicySet.load(repo / "policies")
    report = compare(base, head, _tickets(repo))
    assert _git(repo, "status", "--porcelain") == status_before  # the work tree is untouched
    assert report.tickets == 58
    # the exports scenario, and the installer's exports ticket (same rule, installers' SLA)
    assert report.changed == report.priority_changed == 2
    assert report.matrix["P3"]["P2"] == 2
    assert sum(sum(row.values()) for row in report.matrix.values()) == 2
    assert {(e.ticket_id, e.base_priority, e.head_priority) for e in report.examples} == {
        ("p3-exports-not-working", "P3", "P2"), ("channel-installer", "P3", "P2")}
    for example in report.examples:
        # P3 -> P2: response 2 business days -> 4 business hours, resolution 10 -> 5 business days
        assert example.shifts["response_due"] < 0 and example.shifts["resolution_due"] < 0
    assert report.due_moved == 2 and report.operator_changed == 0


def test_operator_sla_changes_are_reported(repo):
    mutate(repo / "policies" / "operator-slas.yaml", "first_level: {within: 12 hours", "first_level: {within: 6 hours")
    base = policies_at("HEAD", repo / "policies", lambda p: PolicySet.load(p, revision="HEAD"))
    head = PolicySet.load(repo / "policies")
    report = compare(base, head, _tickets(repo))
    assert report.priority_changed == 0
    assert report.operator_changed == 1  # the one example ticket at a dc-hub location
    assert report.operator_changes == {"first_level_due": 1, "second_level_due": 1, "total_due": 1}


def test_unknown_revision_is_a_clear_error(repo):
    from engine import TriageError
    with pytest.raises(TriageError, match="cannot read policies at nosuchrev"):
        policies_at("nosuchrev", repo / "policies", PolicySet.load)


def test_impact_cli_markdown_and_json(runner, repo):
    from cli import cli
    mutate(repo / "policies" / "triage.yaml", "      description: Exports not working\n      priority: P3",
           "      description: Exports not working\n      priority: P2")
    result = runner.invoke(cli, ["impact", "--base", "HEAD", "examples/tickets.jsonl"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "### Policy impact on 58 tickets" in out
    assert "| P3 | · | **2** | · | · |" in out
    assert "| p3-exports-not-working | 19 | P3 → P2 |" in out
    data = __import__("json").loads(runner.invoke(cli, ["impact", "--base", "HEAD", "examples/tickets.jsonl",
                                                        "--format", "json"]).stdout)
    assert data["priority_changed"] == 2 and data["priority_matrix"]["P3"]["P2"] == 2
    # two directories
    shutil.copytree(POLICIES, repo / "old")
    two = runner.invoke(cli, ["impact", "old", "policies", "examples/tickets.jsonl", "--format", "json"])
    assert __import__("json").loads(two.stdout)["priority_changed"] == 2
    assert runner.invoke(cli, ["impact", "examples/tickets.jsonl"]).exit_code == 2


def test_parallel_and_single_process_reports_are_identical(repo):
    from engine import PolicySource, compare_files
    mutate(repo / "policies" / "triage.yaml", "      description: Exports not working\n      priority: P3",
           "      description: Exports not working\n      priority: P2")
    mutate(repo / "policies" / "operator-slas.yaml", "first_level: {within: 12 hours", "first_level: {within: 6 hours")
    base, head = PolicySource("policies", "HEAD"), PolicySource("policies")
    tickets = str(repo / "examples" / "tickets.jsonl")
    parallel = compare_files(base, head, tickets, jobs=2).to_dict()
    single = compare_files(base, head, tickets, jobs=1).to_dict()
    assert parallel == single
    assert parallel["priority_changed"] == 2 and parallel["operator_sla_changed"] == 1
