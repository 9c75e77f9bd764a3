"""The SLAClock document kind: schema, semantic checks, effective dating and defaults."""
import json

import engine
from cli import cli
from engine.policy.schemas import KINDS
from engine.sla.clock_policy import DEFAULT, ClockPolicies
from conftest import POLICIES


def test_kind_is_known_everywhere():
    assert "SLAClock" in KINDS
    schema = engine.document_schema("SLAClock")
    assert schema["properties"]["spec"]["properties"]["on_priority_change"]["enum"] == ["from_creation", "from_change"]


def test_schema_command_prints_it(runner):
    result = runner.invoke(cli, ["schema", "SLAClock"])
    assert result.exit_code == 0 and json.loads(result.stdout)["title"] == "triage SLAClock"


def test_shipped_clock_policy_is_the_default():
    policies = engine.PolicySet.load(POLICIES)
    (doc,) = [d for d in policies.documents if d.kind == "SLAClock"]
    shipped = ClockPolicies(policies.documents).at("2024-04-01")
    assert (shipped.pause_statuses, shipped.warnings, shipped.on_priority_change) == \
        (DEFAULT.pause_statuses, DEFAULT.warnings, DEFAULT.on_priority_change)
    assert shipped.label == "SLAClock/partner-support" and doc.file.endswith("clock.yaml")


def test_a_misspelt_kind_is_suggested(runner, policy_copy):
    path = policy_copy / "clock.yaml"
    path.write_text(path.read_text().replace("kind: SLAClock", "kind: SlaClock"))
    result = runner.invoke(cli, ["validate", "policies"])
    assert result.exit_code == 1
    assert "unknown kind 'SlaClock'; did you mean 'SLAClock'?" in result.stdout


def test_thresholds_must_be_numbers(runner, policy_copy):
    path = policy_copy / "clock.yaml"
    path.write_text(path.read_text().replace("warning_thresholds: [50, 75]", "warning_thresholds: [50, '75']"))
    result = runner.invoke(cli, ["validate", "policies"])
    assert result.exit_code == 1
    assert "spec.warning_thresholds[1]: expected a number, got a string '75'" in result.stdout


def test_effective_dating_picks_the_version_of_the_tickets_date(policy_copy):
    with open(policy_copy / "clock.yaml", "a") as handle:
        handle.write("---\napiVersion: triage/v1\nkind: SLAClock\nmetadata:\n  name: partner-support\n"
                     "  effective_from: 2025-01-01\nspec:\n  on_priority_change: from_change\n"
                     "  warning_thresholds: [90]\n")
    policies = engine.PolicySet.load(policy_copy)
    versions = ClockPolicies(policies.documents)
    assert versions.at("2024-12-31").on_priority_change == "from_creation"
    later = versions.at("2025-01-01")
    assert (later.on_priority_change, later.warnings, later.pause_statuses) == \
        ("from_change", (90,), DEFAULT.pause_statuses)
    assert later.label == "SLAClock/partner-support@2025-01-01"


def test_no_clock_policy_means_defaults():
    assert ClockPolicies([]).at("2024-01-01") is DEFAULT
