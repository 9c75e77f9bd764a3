"""What the ``holidays`` package answers is remembered on disk: a later run gets the same holidays
without importing the package, and a cache that is missing, broken, unwritable or switched off
never changes an answer."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

# Each run asks about a few countries and years, and says whether it imported the package.
PROBE = r"""
import json, sys
from engine.calendar.holidays import HolidaySource, country_info, supported_countries, _supported_languages
answers = {"codes": ["DK" in supported_countries(), "XX" in supported_countries(), "USA" in supported_countries()],
           "de": [list(country_info("DE")[0])[:5], dict(country_info("DE")[1]), list(country_info("DE")[2]),
                  *country_info("DE")[3:]],
           "languages": list(_supported_languages("DE"))}
for name, source in {"DK": HolidaySource("DK"), "DE-BY": HolidaySource("DE", "BY"),
                     "US": HolidaySource("US", None, ("public", "unofficial"))}.items():
    for year in (2024, 2025):
        answers[f"{name} {year}"] = {day.isoformat(): text for day, text in source.for_year(year).items()}
answers["imported"] = "holidays" in sys.modules
print(json.dumps(answers))
"""


def _run(cache: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TRIAGE_CACHE_DIR", "XDG_CACHE_HOME")}
    if cache is not None:
        env["TRIAGE_CACHE_DIR"] = cache
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _package_answers() -> dict:
    """The same answers straight from the package, in this process."""
    import holidays

    out = {}
    for name, (country, subdiv, categories) in {"DK": ("DK", None, ("public",)), "DE-BY": ("DE", "BY", ("public",)),
                                                "US": ("US", None, ("public", "unofficial"))}.items():
        for year in (2024, 2025):
            days = holidays.country_holidays(country, subdiv=subdiv, years=year, categories=categories,
                                             language="en_US")
            out[f"{name} {year}"] = {day.isoformat(): str(text) for day, text in sorted(days.items())}
    return out


@pytest.mark.slow
def test_a_second_run_answers_the_same_without_importing_the_package(tmp_path):
    first = _run(str(tmp_path))
    assert first.pop("imported") is True
    assert list(tmp_path.glob("holidays-*.json"))
    second = _run(str(tmp_path))
    assert second.pop("imported") is False
    assert second == first
    assert first["codes"] == [True, False, True]
    package = _package_answers()
    assert {k: v for k, v in first.items() if k in package} == package
    assert "2024-12-25" in first["DK 2024"] and "2024-11-28" in first["US 2024"]  # Christmas; Thanksgiving


@pytest.mark.slow
def test_a_broken_or_unwritable_cache_changes_no_answer(tmp_path):
    reference = _run("")
    assert reference.pop("imported") is True
    # switched off: nothing is written
    assert not list(tmp_path.iterdir())
    # a file that is not JSON, or JSON of another shape: ignored, and replaced by a good one
    def edited(text: str, value) -> str:  # the file as written, every answer replaced by ``value``
        data = json.loads(text)
        return json.dumps(dict(data, answers={key: value for key in data["answers"]}))

    for change in (lambda _: "{not json", lambda _: json.dumps({"format": 1, "identity": "other", "answers": {"x": 1}}),
                   lambda _: "\udcff", lambda text: edited(text, 5), lambda text: edited(text, [["2024-13-45", "x"]]),
                   lambda text: edited(text, [["x", 1, 2], 3, [], "DK", {"a": 1}])):
        folder = tmp_path / f"broken{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        _run(str(folder))  # makes the file, under the name the installed package gets
        (cache_file,) = folder.glob("holidays-*.json")
        cache_file.write_text(change(cache_file.read_text(encoding="utf-8")), encoding="utf-8",
                              errors="surrogateescape")
        again = _run(str(folder))
        again.pop("imported")
        assert again == reference
        assert json.loads(cache_file.read_text(encoding="utf-8"))["format"] == 1
    # a cache directory that cannot be made (a file is in its way)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    unwritable = _run(str(blocker / "cache"))
    assert unwritable.pop("imported") is True
    assert unwritable == reference


def test_the_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    from engine.core.store import cache_dir

    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.setenv("TRIAGE_CACHE_DIR", "")
    assert cache_dir() is None
    monkeypatch.delenv("TRIAGE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "triage"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "triage"


VERDICT_PROBE = r"""
import json, sys
from engine import PolicySet, PolicyError
from engine.policy.schemas import fast_validator
try:
    PolicySet.load(sys.argv[1])
    outcome = "loaded"
except PolicyError as exc:
    outcome = str(exc)
print(json.dumps({"outcome": outcome, "compiled": fast_validator.cache_info().currsize}))
"""


def _load(policies: Path, cache: Path) -> dict:
    env = dict(os.environ, TRIAGE_CACHE_DIR=str(cache))
    done = subprocess.run([sys.executable, "-c", VERDICT_PROBE, str(policies)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_a_valid_policy_is_checked_once_and_an_invalid_one_every_time(policy_copy, tmp_path):
    cache = tmp_path / "cache"
    first = _load(policy_copy, cache)
    assert first["outcome"] == "loaded" and first["compiled"] >= 6  # a check per kind in the shipped set
    assert _load(policy_copy, cache) == {"outcome": "loaded", "compiled": 0}  # remembered: nothing compiled
    # an edit the schema refuses: refused on every run, never remembered
    targets = policy_copy / "priorities.yaml"
    targets.write_text(targets.read_text().replace("4 business_hours", "4 business_hourz", 1))
    for _ in range(2):
        found = _load(policy_copy, cache)
        assert found["outcome"] != "loaded" and "business_hourz" in found["outcome"]
    # the edit undone: the remembered verdicts hold again
    targets.write_text(targets.read_text().replace("4 business_hourz", "4 business_hours", 1))
    assert _load(policy_copy, cache) == {"outcome": "loaded", "compiled": 0}


def test_a_store_remembers_across_processes_and_stays_small(monkeypatch, tmp_path):
    from engine.core import store as store_module
    from engine.core.store import Store

    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(store_module, "MAX_ANSWERS", MAX_ANSWERS := 50)
    asked = []

    def ask(key):
        asked.append(key)
        return {"answer": key}

    store = Store("answers", lambda: "version 1")
    assert store.remembered("a", lambda: ask("a")) == {"answer": "a"}
    assert store.remembered("a", lambda: ask("a")) == {"answer": "a"}
    again = Store("answers", lambda: "version 1")  # as a later run: reads the file
    assert again.remembered("a", lambda: ask("a")) == {"answer": "a"}
    assert asked == ["a"]
    other = Store("answers", lambda: "version 2")  # what the answers depend on changed: a file of its own
    assert other.remembered("a", lambda: ask("a")) == {"answer": "a"} and asked == ["a", "a"]
    assert len(list(tmp_path.glob("answers-*.json"))) == 2
    with pytest.raises(ZeroDivisionError):  # a question that fails is not remembered
        store.remembered("b", lambda: 1 / 0)
    for i in range(MAX_ANSWERS + 10):
        store.remembered(f"k{i}", lambda: i)
    store.forget()
    (path,) = [p for p in tmp_path.glob("answers-*.json") if f'"k{MAX_ANSWERS + 9}"' in p.read_text()]
    assert len(json.loads(path.read_text())["answers"]) <= MAX_ANSWERS
    assert store.remembered(f"k{MAX_ANSWERS + 9}", lambda: None) == MAX_ANSWERS + 9
