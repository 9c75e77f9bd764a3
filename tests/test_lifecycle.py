"""Effective dating, provenance (digest and git revision)."""
import gc
import subprocess
import tracemalloc

import pytest

from engine import PolicyError, PolicySet, TicketError
from conftest import mutate

NEXT_YEAR_TARGETS = """
---
apiVersion: triage/v1
kind: PriorityTargets
metadata:
  name: partner-support
  description: 2025 targets, merged in November, effective from 1 January
  effective_from: 2025-01-01
spec:
  calendar: partner-support
  priorities:
    P1: {name: Complete System Outage, response: 2 business_hours, resolution: 4 business_hours}
    P2: {name: Major problem, response: 4 business_hours, resolution: 5 business_days}
    P3: {name: Efficiency affected, response: 2 business_days, resolution: 15 business_days}
    P4: {name: Isolated incidents, response: 5 business_days, resolution: 20 business_days}
"""
P3_TICKET = {"service": "exports", "symptom": "down"}


def test_new_version_applies_from_its_effective_date(policy_copy):
    old = PolicySet.load(policy_copy).evaluate({"id": "A", "created_at": "2025-01-02T10:00:00+01:00", **P3_TICKET})
    with open(policy_copy / "priorities.yaml", "a") as handle:
        handle.write(NEXT_YEAR_TARGETS)
    policies = PolicySet.load(policy_copy)
    before = policies.evaluate({"id": "B", "created_at": "2024-12-30T10:00:00+01:00", **P3_TICKET})
    after = policies.evaluate({"id": "C", "created_at": "2025-01-02T10:00:00+01:00", **P3_TICKET})
    assert before.priority == after.priority == "P3"
    # 2024-12-30 + 10 business days (Dec 31 and Jan 1 are holidays) with the old targets
    assert before.resolution_due.isoformat() == "2025-01-15T10:00:00+01:00"
    # 2025-01-02 + 15 business days with the new ones; 10 under the old
    assert old.resolution_due.isoformat() == "2025-01-16T10:00:00+01:00"
    assert after.resolution_due.isoformat() == "2025-01-23T10:00:00+01:00"
    assert [d.label for d in policies.versions("PriorityTargets", "partner-support")] == [
        "PriorityTargets/partner-support", "PriorityTargets/partner-support@2025-01-01"]
    assert policies.document("PriorityTargets", "partner-support", "2024-12-31").effective_from is None
    assert policies.document("PriorityTargets", "partner-support").effective_from == "2025-01-01"
    assert policies.names("PriorityTargets") == ["business-portal", "installers", "partner-support", "private-chat"]
    assert "PriorityTargets/partner-support" in before.to_dict()["policy"]["documents"]
    assert "PriorityTargets/partner-support@2025-01-01" in after.to_dict()["policy"]["documents"]


def test_two_versions_with_the_same_date_are_rejected(policy_copy):
    with open(policy_copy / "priorities.yaml", "a") as handle:
        handle.write(NEXT_YEAR_TARGETS + NEXT_YEAR_TARGETS)
    with pytest.raises(PolicyError) as caught:
        PolicySet.load(policy_copy)
    (problem,) = caught.value.problems
    assert problem.message.startswith("duplicate PriorityTargets 'partner-support' effective from 2025-01-01")
    assert problem.file == "policies/priorities.yaml" and problem.line > 40


def test_reference_unresolvable_on_some_date_is_rejected(policy_copy):
    # the targets start counting on a calendar that only exists from 2025
    mutate(policy_copy / "priorities.yaml", "calendar: partner-support      #", "calendar: support-2025      #")
    with open(policy_copy / "calendars.yaml", "a") as handle:
        handle.write("---\napiVersion: triage/v1\nkind: BusinessCalendar\nmetadata:\n  name: support-2025\n"
                     "  effective_from: 2025-01-01\nspec:\n  timezone: Europe/Copenhagen\n  hours:\n"
                     "    mon-fri: [\"09:00-17:00\"]\n")
    with pytest.raises(PolicyError) as caught:
        PolicySet.load(policy_copy)
    messages = [p.message for p in caught.value.problems]
    assert messages == ["unknown calendar 'support-2025'; known: always-open, business-portal, installers, "
                        "partner-support"]


def test_ticket_before_the_first_policy_version_is_a_ticket_error(policy_copy):
    mutate(policy_copy / "triage.yaml", "  name: partner-support\n", "  name: partner-support\n  effective_from: 2024-01-01\n")
    policies = PolicySet.load(policy_copy)
    results = list(policies.evaluate_many([{"id": "old", "created_at": "2023-12-31T10:00:00+01:00"},
                                           {"id": "new", "created_at": "2024-01-02T10:00:00+01:00"}]))
    assert "no TriagePolicy is in effect on 2023-12-31" in str(results[0])
    assert results[1].priority == "P4"



def test_tickets_rejected_for_the_same_date_do_not_accumulate_memory(policy_copy):
    # Regression: the plan cache kept the date's TicketError and raised that one instance for
    # every ticket; each raise grew its traceback, which held every rejected ticket (20,000 of
    # them: about 31 MiB).  The cache keeps the problems; every ticket gets a fresh exception.
    mutate(policy_copy / "triage.yaml", "  name: partner-support\n", "  name: partner-support\n  effective_from: 2024-01-01\n")
    policies = PolicySet.load(policy_copy)

    def tickets(count):
        for n in range(count):
            yield {"id": f"T-{n}", "created_at": "2023-12-31T10:00:00+01:00", "service": "exports",
                   "symptom": "down", "customers_affected": n, "workaround": False}

    first, second = policies.evaluate_many(tickets(2))
    assert isinstance(first, TicketError) and first is not second
    assert str(first) == str(second) == ("created_at: no TriagePolicy is in effect on 2023-12-31 "
                                         "(the first takes effect on 2024-01-01)")
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        rejected = sum(isinstance(result, TicketError) for result in policies.evaluate_many(tickets(20_000)))
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert rejected == 20_000
    assert grown < 5 * 2**20, f"{grown / 2**20:.1f} MiB kept after 20,000 rejected tickets"

# ----------------------------------------------------------------------------- digest and revision
def _digest(path):
    return PolicySet.load(path, git=False).digest


def test_digest_ignores_comments_formatting_and_key_order(policy_copy):
    before = _digest(policy_copy)
    mutate(policy_copy / "priorities.yaml", "# Response and resolution targets.", "# Targets, reworded comment.")
    mutate(policy_copy / "priorities.yaml", "      response: 2 business_hours\n      resolution: 4 business_hours\n",
           "      resolution:   '4 business_hours'\n      response: \"2 business_hours\"\n")
    mutate(policy_copy / "locations.yaml", "{id: loc-suburb-12, name: Suburb 12}", "{name: Suburb 12,   id: loc-suburb-12}")
    assert _digest(policy_copy) == before


def test_digest_changes_with_any_semantic_edit(policy_copy):
    before = _digest(policy_copy)
    mutate(policy_copy / "triage.yaml", "delay_seconds: {gt: 10}", "delay_seconds: {gt: 11}")
    assert _digest(policy_copy) != before


def test_revision_is_the_git_commit_and_marks_a_dirty_tree(policy_copy, tmp_path):
    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True).stdout
    git("init", "-q")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x")
    git("add", ".")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "policies")
    head = git("rev-parse", "--short=12", "HEAD").strip()
    assert PolicySet.load(policy_copy).revision == head
    mutate(policy_copy / "triage.yaml", "delay_seconds: {gt: 10}", "delay_seconds: {gt: 11}")
    assert PolicySet.load(policy_copy).revision == head + "-dirty"


def test_no_revision_outside_git(policy_copy):
    assert PolicySet.load(policy_copy).revision is None


def test_a_rule_whose_priority_changes_between_versions_decides_per_version(policy_copy):
    # regression guard for the per-version cache of (matched rules -> priority)
    text = (policy_copy / "triage.yaml").read_text()
    newer = text.replace("  name: partner-support\n", "  name: partner-support\n  effective_from: 2025-01-01\n", 1)
    newer = newer.replace("      description: Exports not working\n      priority: P3",
                          "      description: Exports not working\n      priority: P2")
    newer = "\n".join(line for line in newer.splitlines() if not line.startswith("# yaml-language-server"))
    (policy_copy / "triage-2025.yaml").write_text(newer + "\n")
    policies = PolicySet.load(policy_copy)
    ticket = {"service": "exports", "symptom": "down"}
    old = policies.evaluate({"id": "A", "created_at": "2024-12-30T10:00:00+01:00", **ticket})
    new = policies.evaluate({"id": "B", "created_at": "2025-01-02T10:00:00+01:00", **ticket})
    again = policies.evaluate({"id": "C", "created_at": "2024-12-31T10:00:00+01:00", **ticket})
    assert (old.priority, new.priority, again.priority) == ("P3", "P2", "P3")
    assert old.decided_by == new.decided_by == "exports-not-working"
    assert "TriagePolicy/partner-support@2025-01-01" in new.policy["documents"]
