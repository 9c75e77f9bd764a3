"""Broken-policy fixtures, each paired with the exact problems `triage validate` must report.

A fixture in tests/fixtures/broken/ is added to a copy of the shipped policy set
as ``extra.yaml`` (or as the file named by a first line ``# file: F``, which may
replace a shipped file).
Its ``# expect:`` lines are the exact ``file:line:col: message`` lines for files
it touches; ``# other files: N`` is how many problems land in shipped files.
"""
import re
from pathlib import Path

import pytest

from cli import cli

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "broken").glob("*.yaml"))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_broken_fixture(runner, policy_copy, fixture):
    text = fixture.read_text()
    named = re.match(r"# file: (\S+)\n", text)
    target = named.group(1) if named else "extra.yaml"
    (policy_copy / target).write_text(text)
    expected = re.findall(r"^# expect: (.*)$", text, re.M)
    others = int(re.search(r"^# other files: (\d+)$", text, re.M).group(1))
    result = runner.invoke(cli, ["validate", "policies"])
    lines = [line.removeprefix("policies/") for line in result.stdout.splitlines()]
    mine = [line for line in lines if line.startswith(target + ":")]
    assert mine == expected
    assert len(lines) - len(mine) == others, lines
    has_errors = any(": warning: " not in line for line in lines)
    assert result.exit_code == (1 if has_errors else 0)
