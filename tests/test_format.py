"""triage fmt: one layout, comments kept, meaning unchanged."""
from cli import cli
from engine import format_policies
from engine.tooling.fmt import format_text
from conftest import POLICIES

MESSY = """# yaml-language-server: $schema=../schemas/Locations.json
# a comment that must survive
apiVersion: triage/v1
kind: Locations
metadata:
    name: locations   # trailing comment (its column is kept)
spec:
    locations:
    -   {id: a, name: A}
    -   id: b
        name: "B"     
"""


def test_shipped_policies_are_formatted():
    assert [r.file for r in format_policies(POLICIES) if r.changed or r.problem] == []


def test_format_normalises_layout_and_keeps_comments():
    out = format_text(MESSY)
    assert out == """# yaml-language-server: $schema=../schemas/Locations.json
# a comment that must survive
apiVersion: triage/v1
kind: Locations
metadata:
  name: locations     # trailing comment (its column is kept)
spec:
  locations:
    - {id: a, name: A}
    - id: b
      name: "B"
"""
    assert format_text(out) == out  # idempotent


def test_fmt_check_and_write(runner, policy_copy):
    path = policy_copy / "locations.yaml"
    path.write_text(MESSY)
    check = runner.invoke(cli, ["fmt", "--check"])
    assert check.exit_code == 1 and check.stdout == "would reformat policies/locations.yaml\n"
    assert path.read_text() == MESSY
    write = runner.invoke(cli, ["fmt"])
    assert write.exit_code == 0 and write.stdout == "reformatted policies/locations.yaml\n"
    assert runner.invoke(cli, ["fmt", "--check"]).exit_code == 0


def test_fmt_refuses_unreadable_files(runner, policy_copy):
    (policy_copy / "locations.yaml").write_text("a: 1\na: 2\n")
    result = runner.invoke(cli, ["fmt"])
    assert result.exit_code == 1
    assert "policies/locations.yaml:2:1: duplicate key 'a'" in result.stderr
