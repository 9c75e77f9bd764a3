import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
EXAMPLES = ROOT / "examples"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def policy_copy(tmp_path, monkeypatch):
    """A writable copy of the shipped policy set, as ``./policies`` of the working directory."""
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    monkeypatch.chdir(tmp_path)
    return target


def mutate(path: Path, old: str, new: str) -> tuple[int, int]:
    """Replace the single occurrence of ``old`` in ``path``; return the 1-based (line, col) where it was."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    index = text.index(old)
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    path.write_text(text.replace(old, new))
    return line, col
