"""CliRunner tests of `triage sla` and `triage locations`, and of the edit machinery in engine.tooling.editing."""
import difflib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

import engine
from cli import cli
from conftest import POLICIES, mutate
from engine.tooling import editing as _editing

CREATED = "2024-03-27T16:00:00+01:00"
SHIPPED_FILES = sorted(p.relative_to(POLICIES).as_posix() for p in POLICIES.rglob("*.yaml"))


def _invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args])


def _files(folder):
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _book(folder):
    return engine.PolicyEditor(folder).book


def _git(cwd, *args):
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


# --------------------------------------------------------------------------- sla set-default
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_set_default_is_a_two_line_git_diff_and_keeps_comments(runner, policy_copy, tmp_path):
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "shipped policy")

    result = _invoke(runner, "sla", "set-default", "dc-hub")

    assert result.exit_code == 0, result.output
    assert "dc-hub is now the default SLA (was standard)" in result.stdout
    assert "policies/operator-slas.yaml: SLA 'standard': removed 'default: true'" in result.stdout
    assert _git(tmp_path, "diff", "--numstat").splitlines() == ["1\t1\tpolicies/operator-slas.yaml"]
    diff = _git(tmp_path, "diff", "-U0").splitlines()
    assert [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")] == \
        ["+      default: true", "-      default: true"]
    text = (policy_copy / "operator-slas.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../schemas/OperatorSLAs.json"
    for comment in ("  timezone: Europe/Copenhagen    # weekdays are counted here unless a location overrides it",
                    "      locations: [loc-odense-villa-3]   # bound from the SLA's side",
                    "# weekdays, an optional installer or OEM to contact, and exactly one default."):
        assert comment in text.splitlines()

    book = _book(policy_copy)
    assert [s.id for s in book.slas.values() if s.default] == ["dc-hub"]
    # loc-suburb-12 has no binding: it follows the default to dc-hub, which is not flagged (DESIGN.md);
    # loc-malmo-central, bound to standard, is the one that becomes flagged.
    records = {r["id"]: r for r in json.loads(_invoke(runner, "locations", "list", "--format", "json").stdout)}
    assert (records["loc-suburb-12"]["sla"], records["loc-suburb-12"]["flagged"]) == ("dc-hub", False)
    assert records["loc-malmo-central"]["flagged"] is True
    assert "now flagged: loc-malmo-central" in result.stdout
    decision = engine.PolicySet.load(policy_copy).evaluate(
        {"id": "T-1", "created_at": CREATED, "symptom": "question", "location_id": "loc-suburb-12"})
    assert decision.to_dict()["operator_sla"]["id"] == "dc-hub"


def test_set_default_on_the_default_changes_nothing(runner, policy_copy):
    before = _files(policy_copy)
    result = _invoke(runner, "sla", "set-default", "standard")
    assert result.exit_code == 0
    assert result.stdout.strip() == "standard is already the default SLA; nothing to change"
    assert _files(policy_copy) == before


def test_set_default_unknown_sla_suggests(runner, policy_copy):
    result = _invoke(runner, "sla", "set-default", "dc-hbu")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: unknown SLA 'dc-hbu'; did you mean 'dc-hub'? "
                                     "(SLAs: dc-hub, standard, suburban-ac)")


def test_set_default_keeps_full_line_comments_below_the_removed_key(runner, policy_copy):
    path = policy_copy / "operator-slas.yaml"
    mutate(path, "      default: true\n", "      default: true   # the fallback\n      # levels follow the seed\n")
    result = _invoke(runner, "sla", "set-default", "dc-hub")
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert "      # levels follow the seed\n      first_level: {within: 24 hours" in text
    assert "# the fallback" not in text
    assert _invoke(runner, "validate").exit_code == 0


def test_set_default_flips_an_explicit_false(runner, policy_copy):
    path = policy_copy / "operator-slas.yaml"
    mutate(path, "      name: DC fast-charging hub\n", "      name: DC fast-charging hub\n      default: false\n")
    before = path.read_text()
    assert _invoke(runner, "sla", "set-default", "dc-hub").exit_code == 0
    assert _changed_lines(before, path.read_text()) == ["-      default: false", "+      default: true",
                                                        "-      default: true"]


def test_layout_ruamel_does_not_reproduce_is_kept(runner, policy_copy):
    """Aligned values and a leading '---' are outside the edit, so they stay as written."""
    path = policy_copy / "operator-slas.yaml"
    mutate(path, "      first_level: {within: 24 hours", "      first_level:  {within: 24 hours")
    mutate(path, "apiVersion: triage/v1\n", "---\napiVersion: triage/v1\n")
    before = path.read_text()
    assert _invoke(runner, "sla", "set-default", "dc-hub").exit_code == 0
    assert _changed_lines(before, path.read_text()) == ["+      default: true", "-      default: true"]


# --------------------------------------------------------------------------- locations bind
def test_bind_a_location_with_its_own_sla(runner, policy_copy):
    slas_before = (policy_copy / "operator-slas.yaml").read_bytes()
    before = (policy_copy / "locations.yaml").read_text()
    result = _invoke(runner, "locations", "bind", "loc-aarhus-harbour", "suburban-ac")
    assert result.exit_code == 0, result.output
    assert "loc-aarhus-harbour is now bound to suburban-ac (was dc-hub)" in result.stdout
    assert _changed_lines(before, (policy_copy / "locations.yaml").read_text()) == [
        "-    - {id: loc-aarhus-harbour, name: Aarhus Harbour, sla: dc-hub}",
        "+    - {id: loc-aarhus-harbour, name: Aarhus Harbour, sla: suburban-ac}"]
    assert (policy_copy / "operator-slas.yaml").read_bytes() == slas_before
    assert _book(policy_copy).locations["loc-aarhus-harbour"].sla == "suburban-ac"


def test_bind_a_location_bound_from_the_sla_side(runner, policy_copy):
    slas_before = (policy_copy / "operator-slas.yaml").read_text()
    locations_before = (policy_copy / "locations.yaml").read_text()
    result = _invoke(runner, "locations", "bind", "loc-odense-villa-3", "dc-hub")
    assert result.exit_code == 0, result.output
    assert "no longer flagged" not in result.stdout  # dc-hub is not the default either
    assert _changed_lines(slas_before, (policy_copy / "operator-slas.yaml").read_text()) == [
        "-      locations: [loc-odense-villa-3]   # bound from the SLA's side"]
    changed = _changed_lines(locations_before, (policy_copy / "locations.yaml").read_text())
    assert changed[1].startswith("+    - {id: loc-odense-villa-3, name: Odense Villa 3, sla: dc-hub}")
    assert changed[1].endswith("# bound from the SLA's side (suburban-ac)") and len(changed) == 2
    assert _invoke(runner, "validate").exit_code == 0
    assert _book(policy_copy).locations["loc-odense-villa-3"].sla == "dc-hub"
    assert "locations (0):" in _invoke(runner, "sla", "show", "suburban-ac").stdout


def test_bind_removes_only_that_location_from_the_sla_list(runner, policy_copy):
    mutate(policy_copy / "operator-slas.yaml", "[loc-odense-villa-3]", "[loc-odense-villa-3, loc-suburb-12]")
    assert _invoke(runner, "locations", "bind", "loc-odense-villa-3", "standard").exit_code == 0
    (line,) = [x for x in (policy_copy / "operator-slas.yaml").read_text().splitlines() if "loc-suburb-12" in x]
    # ruamel keeps an end-of-line comment at its column
    assert line == "      locations: [loc-suburb-12]                       # bound from the SLA's side"
    assert _book(policy_copy).locations["loc-odense-villa-3"].sla == "standard"


def test_bind_to_the_sla_a_location_already_gets_changes_nothing(runner, policy_copy):
    before = _files(policy_copy)
    result = _invoke(runner, "locations", "bind", "loc-suburb-12", "standard")
    assert result.exit_code == 0
    assert "already bound to standard (it has no binding and gets the default)" in result.stdout
    assert _invoke(runner, "locations", "bind", "loc-odense-villa-3", "suburban-ac").exit_code == 0
    assert _files(policy_copy) == before


def test_bind_an_unbound_location_and_back_to_the_default(runner, policy_copy):
    path = policy_copy / "locations.yaml"
    assert _invoke(runner, "locations", "bind", "loc-suburb-12", "dc-hub").exit_code == 0
    assert "    - {id: loc-suburb-12, name: Suburb 12, sla: dc-hub}\n" in path.read_text()
    result = _invoke(runner, "locations", "bind", "loc-suburb-12", "standard")
    assert "no longer flagged: loc-suburb-12" in result.stdout
    assert "    - {id: loc-suburb-12, name: Suburb 12, sla: standard}\n" in path.read_text()


def test_bind_unknown_sla_and_unknown_location(runner, policy_copy):
    result = _invoke(runner, "locations", "bind", "loc-suburb-12", "suburban")
    assert result.exit_code == 1
    assert "unknown SLA 'suburban'; did you mean 'suburban-ac'?" in result.stderr
    result = _invoke(runner, "locations", "bind", "loc-suburb-2", "dc-hub")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: unknown location 'loc-suburb-2'; did you mean 'loc-suburb-12'? "
                                     "(to add a new location, bind it with --create --name NAME)")


def test_bind_create_appends_a_location(runner, policy_copy):
    path = policy_copy / "locations.yaml"
    before = path.read_text()
    result = _invoke(runner, "locations", "bind", "loc-vejle-depot", "dc-hub", "--create", "--name", "Vejle Depot")
    assert result.exit_code == 0, result.output
    assert path.read_text() == before + "    - {id: loc-vejle-depot, name: Vejle Depot, sla: dc-hub}\n"
    assert _book(policy_copy).locations["loc-vejle-depot"].sla == "dc-hub"
    assert _invoke(runner, "locations", "bind", "loc-x", "dc-hub", "--create").exit_code == 2
    assert _invoke(runner, "locations", "bind", "loc-x", "dc-hub", "--name", "X").exit_code == 2
    again = _invoke(runner, "locations", "bind", "loc-vejle-depot", "dc-hub", "--create", "--name", "V")
    assert again.exit_code == 1 and "already exists (Vejle Depot)" in again.stderr


def test_an_edit_that_makes_the_set_invalid_is_refused(runner, policy_copy):
    # a 2030 version of the operator SLAs adds 'premium'; before 2030 the Locations document (in effect
    # since always) could not resolve it, so binding to it is refused
    text = (policy_copy / "operator-slas.yaml").read_text()
    text = text.replace("  name: operator\n", '  name: operator\n  effective_from: "2030-01-01"\n')
    text += ("    - id: premium\n      name: Premium\n      first_level: {within: 4 hours}\n"
             "      second_level: {within: 8 hours}\n")
    (policy_copy / "operator-slas-2030.yaml").write_text(text)
    assert _invoke(runner, "validate").exit_code == 0
    before = _files(policy_copy)

    result = _invoke(runner, "locations", "bind", "loc-suburb-12", "premium")

    assert result.exit_code == 1
    assert "refused: with this edit the policy set would be invalid" in result.stderr
    assert "policies/locations.yaml:15:" in result.stderr and "unknown SLA 'premium'" in result.stderr
    assert _files(policy_copy) == before
    dry = _invoke(runner, "locations", "bind", "loc-suburb-12", "premium", "--dry-run")
    assert dry.exit_code == 1 and "+    - {id: loc-suburb-12, name: Suburb 12, sla: premium}" in dry.stdout
    assert _files(policy_copy) == before


def test_a_schema_invalid_new_location_is_refused(runner, policy_copy):
    before = _files(policy_copy)
    result = _invoke(runner, "locations", "bind", "bad id!", "dc-hub", "--create", "--name", "Bad")
    assert result.exit_code == 1 and "refused" in result.stderr and "spec.locations[5].id" in result.stderr
    assert _files(policy_copy) == before


def test_dry_run_prints_a_diff_and_writes_nothing(runner, policy_copy):
    before = _files(policy_copy)
    result = _invoke(runner, "sla", "set-default", "dc-hub", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.startswith("--- a/policies/operator-slas.yaml\n+++ b/policies/operator-slas.yaml\n")
    assert "\n+      default: true\n" in result.stdout and "\n-      default: true\n" in result.stdout
    assert "dry run: nothing written" in result.stderr
    assert _files(policy_copy) == before


# --------------------------------------------------------------------------- file shapes
def test_a_multi_document_file_is_edited_in_place(runner, policy_copy):
    slas, locations = policy_copy / "operator-slas.yaml", policy_copy / "locations.yaml"
    combined = policy_copy / "operator.yaml"
    combined.write_text(slas.read_text() + "---\n" + locations.read_text())
    slas.unlink()
    locations.unlink()
    before = combined.read_text()

    assert _invoke(runner, "sla", "set-default", "dc-hub").exit_code == 0
    assert _invoke(runner, "locations", "bind", "loc-odense-villa-3", "dc-hub").exit_code == 0

    after = combined.read_text()
    assert after.splitlines()[0] == "# yaml-language-server: $schema=../schemas/OperatorSLAs.json"
    assert "\n---\n# yaml-language-server: $schema=../schemas/Locations.json\n" in after
    assert len(_changed_lines(before, after)) == 5
    assert _invoke(runner, "validate").exit_code == 0
    assert _book(policy_copy).locations["loc-odense-villa-3"].sla == "dc-hub"


def test_crlf_and_permissions_are_kept(runner, policy_copy):
    path = policy_copy / "operator-slas.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    path.chmod(0o640)
    before = path.read_bytes()
    assert _invoke(runner, "sla", "set-default", "dc-hub").exit_code == 0
    after = path.read_bytes()
    assert after.count(b"\r\n") == after.count(b"\n") == before.count(b"\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_an_unedited_file_renders_byte_identically(name):
    path = POLICIES / name
    assert _editing._Source(path, name).render() == path.read_bytes()


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_ruamel_alone_round_trips_the_shipped_file(name):
    text = (POLICIES / name).read_text()
    rt = _editing.round_trip_yaml(text)
    assert _editing.dump_all(rt, list(rt.load_all(text))) == text



def test_an_edit_next_to_layout_ruamel_cannot_reproduce_splices_around_it(runner, policy_copy):
    """A flow list wrapped over two lines (ruamel would re-flow it) must survive an edit in the same file."""
    slas = policy_copy / "operator-slas.yaml"
    mutate(slas, "      locations: [loc-odense-villa-3]   # bound from the SLA's side\n",
           "      locations: [loc-odense-villa-3,\n                  loc-aarhus-harbour]\n")
    mutate(policy_copy / "locations.yaml", "{id: loc-aarhus-harbour, name: Aarhus Harbour, sla: dc-hub}",
           "{id: loc-aarhus-harbour, name: Aarhus Harbour}")
    before = slas.read_text()
    rt = _editing.round_trip_yaml(before)
    assert _editing.dump_all(rt, list(rt.load_all(before))) != before  # ruamel alone would change it
    assert _invoke(runner, "sla", "set-default", "dc-hub").exit_code == 0
    assert _changed_lines(before, slas.read_text()) == ["+      default: true", "-      default: true"]


def test_a_block_list_binding_keeps_the_comments_below_it(runner, policy_copy):
    path = policy_copy / "operator-slas.yaml"
    mutate(path, "      locations: [loc-odense-villa-3]   # bound from the SLA's side\n",
           "      locations:\n        - loc-suburb-12\n        - loc-odense-villa-3   # since 2024\n"
           "        # more villas to come\n")
    assert _invoke(runner, "locations", "bind", "loc-odense-villa-3", "dc-hub").exit_code == 0
    assert path.read_text().endswith("      locations:\n        - loc-suburb-12\n        # more villas to come\n")
    assert _invoke(runner, "locations", "bind", "loc-suburb-12", "standard").exit_code == 0
    assert path.read_text().endswith("support@installer.example}\n        # more villas to come\n")
    assert _invoke(runner, "validate").exit_code == 0


@pytest.mark.parametrize("text", [
    "spec:\n  slas:\n  - id: a\n    name: b\n",                                 # list items not indented
    "spec:\n    slas:\n        - id: a\n          x:\n              y: 1\n",    # 4-space mappings
    "a: 1\n---\nb:\n  - {id: x, name: 'y'}   # flow\n",                         # two documents, quotes
])
def test_detected_indentation_round_trips(text):
    rt = _editing.round_trip_yaml(text)
    assert _editing.dump_all(rt, list(rt.load_all(text))) == text


def test_splice_falls_back_to_ruamel_when_the_edit_touches_reformatted_lines():
    original = "a: [1,\n    2]\nb: 1\n"
    base, new = "a: [1, 2]\nb: 1\n", "a: [1, 2, 3]\nb: 1\n"
    assert _editing.splice(original, base, new) == new
    assert _editing.splice(original, base, "a: [1, 2]\nb: 2\n") == "a: [1,\n    2]\nb: 2\n"

# --------------------------------------------------------------------------- atomic writes
class _HalfWriter:
    """A file that writes half of what it is given, then fails as a full disk does."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise OSError(28, "No space left on device")


def _fail(*args, **kwargs):
    raise OSError(5, "Input/output error")


@pytest.mark.parametrize("step", ["write", "fsync", "replace"])
def test_a_failed_write_leaves_the_original_and_no_temporary_file(runner, policy_copy, monkeypatch, step):
    before = _files(policy_copy)
    if step == "write":
        real = os.fdopen
        monkeypatch.setattr(_editing.os, "fdopen", lambda fd, mode: _HalfWriter(real(fd, mode)))
    else:
        monkeypatch.setattr(_editing.os, step, _fail)
    result = _invoke(runner, "sla", "set-default", "dc-hub")
    monkeypatch.undo()
    assert result.exit_code == 1
    assert "error: cannot write" in result.stderr and "nothing was changed" in result.stderr
    assert _files(policy_copy) == before


def test_a_failed_second_rename_restores_the_first_file(runner, policy_copy, monkeypatch):
    before = _files(policy_copy)
    real, calls = os.replace, []

    def replace(src, dst):
        if policy_copy not in Path(dst).parents:  # not a policy file (the start-up cache's own writes)
            return real(src, dst)
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(_editing.os, "replace", replace)
    result = _invoke(runner, "locations", "bind", "loc-odense-villa-3", "dc-hub")  # edits two files
    monkeypatch.undo()
    assert result.exit_code == 1 and len(calls) == 3  # two renames, then the first file put back
    assert _files(policy_copy) == before


def test_a_file_changed_since_it_was_read_is_not_overwritten(policy_copy):
    edit = engine.PolicyEditor(policy_copy).set_default("dc-hub")
    path = policy_copy / "operator-slas.yaml"
    path.write_text(path.read_text() + "# edited by someone else\n")
    with pytest.raises(engine.TriageError, match="changed on disk since it was read"):
        edit.write()
    assert path.read_text().endswith("# edited by someone else\n")


# --------------------------------------------------------------------------- list / show
def test_sla_list_text(runner):
    result = _invoke(runner, "sla", "list", "--policies", POLICIES)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "DEFAULT", "1ST", "LEVEL", "2ND", "LEVEL", "CONTACT", "LOCATIONS"]
    assert lines[1].split("  ")[0] == "dc-hub" and lines[1].endswith("oem: Kempower Service                2")
    assert "standard     Standard              default  24 hours (weekdays only)  48 hours (weekdays only)" \
        in lines[2]


def test_sla_list_json(runner):
    records = json.loads(_invoke(runner, "sla", "list", "--format", "json", "--policies", POLICIES).stdout)
    assert [(r["id"], r["default"], len(r["locations"])) for r in records] == \
        [("dc-hub", False, 2), ("standard", True, 2), ("suburban-ac", False, 1)]
    assert records[2]["second_level"] == {"within": "5 days", "weekdays_only": True}
    assert records[0]["contact"]["phone"] == "+45 70 20 30 40"


def test_sla_show_default_lists_unbound_locations(runner):
    result = _invoke(runner, "sla", "show", "standard", "--policies", POLICIES)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "standard  Standard  (default)"
    assert "  loc-suburb-12      Suburb 12  (no binding: gets the default)" in result.stdout.splitlines()
    assert "  loc-malmo-central  Malmo Central" in result.stdout.splitlines()
    shown = json.loads(_invoke(runner, "sla", "show", "dc-hub", "--format", "json", "--policies", POLICIES).stdout)
    assert shown["locations"] == ["loc-aarhus-harbour", "loc-copenhagen-airport"]


def test_sla_show_unknown(runner):
    result = _invoke(runner, "sla", "show", "standart", "--policies", POLICIES)
    assert result.exit_code == 1 and "did you mean 'standard'?" in result.stderr


def test_locations_list_and_flagged(runner):
    result = _invoke(runner, "locations", "list", "--policies", POLICIES)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SLA", "FLAG", "TIMEZONE"]
    assert "loc-malmo-central       Malmo Central          standard              Europe/Stockholm" in lines
    flagged = _invoke(runner, "locations", "list", "--flagged", "--policies", POLICIES).stdout.splitlines()
    assert [line.split()[0] for line in flagged[1:]] == ["loc-aarhus-harbour", "loc-copenhagen-airport",
                                                        "loc-odense-villa-3"]
    assert all("flagged" in line for line in flagged[1:])
    records = json.loads(_invoke(runner, "locations", "list", "--flagged", "--format", "json",
                                 "--policies", POLICIES).stdout)
    assert records[2] == {"id": "loc-odense-villa-3", "name": "Odense Villa 3", "sla": "suburban-ac",
                          "bound": True, "flagged": True, "timezone": "Europe/Copenhagen"}


def test_a_terminal_gets_a_rich_table(runner, monkeypatch):
    monkeypatch.setattr("cli._is_tty", lambda: True)
    result = _invoke(runner, "locations", "list", "--flagged", "--policies", POLICIES)
    assert result.exit_code == 0 and "⚑" in result.stdout and "┃" in result.stdout


# --------------------------------------------------------------------------- no ./policies (a wheel install)
@pytest.mark.parametrize("args, dry", [
    (("sla", "set-default", "dc-hub"), ("sla", "set-default", "dc-hub", "--dry-run")),
    (("locations", "bind", "loc-suburb-12", "dc-hub"), ("locations", "bind", "loc-suburb-12", "dc-hub", "--dry-run")),
    (("fmt",), ("fmt", "--check")),
])
def test_edits_refuse_the_shipped_set_when_there_is_no_local_one(runner, tmp_path, monkeypatch, args, dry):
    """Without ./policies, reading commands use the shipped set; editing ones must not write into it."""
    shipped = tmp_path / "site-packages" / "policies"  # stands in for the installed copy
    shutil.copytree(POLICIES, shipped)
    monkeypatch.setattr(engine.core.resources, "shipped_policies", lambda: shipped)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = _files(shipped)

    result = _invoke(runner, *args)

    assert result.exit_code == 2, result.output
    assert "there is no ./policies directory here to edit" in result.output
    assert _files(shipped) == before
    # a dry run or check writes nothing, so it may read the shipped set, as listing does
    assert _invoke(runner, *dry).exit_code == 0
    assert _invoke(runner, "sla", "list").exit_code == 0
    assert _files(shipped) == before
