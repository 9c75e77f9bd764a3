import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

# Hypothesis profiles, chosen with HYPOTHESIS_PROFILE.  "ci", the default (so the README's
# test command and .ci/run), runs each property test with the example count written at the
# test; "dev" runs a tenth of that, for a quick look at a property while working on it:
#     HYPOTHESIS_PROFILE=dev .venv/bin/pytest -q tests/test_calendar_properties.py
settings.register_profile("ci", max_examples=100)  # Hypothesis' own default: counts stay as written
settings.register_profile("dev", max_examples=10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# what the holidays package answers is remembered on disk (engine/core/store.py): the tests,
# and the commands they start, keep it in a directory of their own, which starts empty
if "TRIAGE_CACHE_DIR" not in os.environ:
    os.environ["TRIAGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="triage-test-cache-")
    atexit.register(shutil.rmtree, os.environ["TRIAGE_CACHE_DIR"], True)

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
EXAMPLES = ROOT / "examples"


def examples(count: int) -> int:
    """A property test's ``max_examples``: ``count`` under the "ci" profile, scaled with the profile."""
    return max(1, count * settings.default.max_examples // 100)


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
