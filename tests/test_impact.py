"""The impact of a policy change on a ticket corpus."""
import io
import shutil
import subprocess
import tarfile

import pytest

from engine import PolicySet, read_tickets
from engine.tooling.impact import compare, extract_files, policies_at
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


def test_base_checkout_works_without_the_tarfile_filters_of_python_3_11_4(repo, monkeypatch):
    # Debian 12's /usr/bin/python3 is 3.11.2: TarFile.extractall(filter=...) and tarfile.data_filter
    # arrived in 3.11.4.  Give tarfile the 3.11.2 signatures; reading the base must still work.
    for name in ("extractall", "extract"):
        original = getattr(tarfile.TarFile, name)

        def old_signature(self, *args, numeric_owner=False, _original=original, **unexpected):
            if unexpected:
                raise TypeError(f"unexpected keyword argument {next(iter(unexpected))!r}")
            return _original(self, *args, numeric_owner=numeric_owner, filter="fully_trusted")
        monkeypatch.setattr(tarfile.TarFile, name, old_signature)
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    base = policies_at("HEAD", repo / "policies", lambda p: PolicySet.load(p, revision="HEAD"))
    assert base.digest == PolicySet.load(repo / "policies").digest


def _archive(*members: tuple[str, bytes, bytes | str]) -> tarfile.TarFile:
    """An in-memory tar of (name, tarfile type, file content or link target) members."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.REGTYPE:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                info.linkname = payload
                tar.addfile(info)
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


@pytest.mark.parametrize("member, reason", [
    (("../escaped.yaml", tarfile.REGTYPE, b"x: 1\n"), "not a relative path"),
    (("policies/../../escaped.yaml", tarfile.REGTYPE, b"x: 1\n"), "not a relative path"),
    (("{tmp}/escaped.yaml", tarfile.REGTYPE, b"x: 1\n"), "not a relative path"),
    (("policies/link.yaml", tarfile.SYMTYPE, "../../escaped.yaml"), "only regular files and directories"),
    (("policies/link.yaml", tarfile.SYMTYPE, "/etc/passwd"), "only regular files and directories"),
    (("policies/hard.yaml", tarfile.LNKTYPE, "policies/ok.yaml"), "only regular files and directories"),
    (("policies/dev", tarfile.CHRTYPE, ""), "only regular files and directories"),
    (("policies/fifo", tarfile.FIFOTYPE, ""), "only regular files and directories"),
], ids=["dotdot", "inner-dotdot", "absolute", "symlink-out", "symlink-abs", "hardlink", "device", "fifo"])
def test_hostile_archive_member_is_refused(tmp_path, member, reason):
    from engine import TriageError
    into = tmp_path / "base" / "into"
    into.mkdir(parents=True)
    name, kind, payload = member
    tar = _archive(("policies/ok.yaml", tarfile.REGTYPE, b"a: 1\n"), (name.format(tmp=tmp_path), kind, payload))
    with pytest.raises(TriageError, match=reason):
        extract_files(tar, into)
    assert not (tmp_path / "base" / "escaped.yaml").exists() and not (tmp_path / "escaped.yaml").exists()
    written = sorted(p.relative_to(into).as_posix() for p in into.rglob("*"))
    assert written == ["policies", "policies/ok.yaml"]  # nothing but the regular file before it


def test_archive_member_twice_is_refused(tmp_path):
    from engine import TriageError
    tar = _archive(("policies/a.yaml", tarfile.REGTYPE, b"a: 1\n"), ("policies/a.yaml", tarfile.REGTYPE, b"a: 2\n"))
    with pytest.raises(TriageError, match="occurs twice"):
        extract_files(tar, tmp_path)
    assert (tmp_path / "policies" / "a.yaml").read_bytes() == b"a: 1\n"


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
