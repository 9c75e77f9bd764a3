"""What the YAML reader gives for a policy file is remembered on disk (engine/policy/parsed.py): read
back, it is exactly what the reader gives (every scalar's type, positions, YAML 1.1 booleans), a file
that does not parse is refused every time, and a later run loads the policy without importing PyYAML."""
import json
import os
import subprocess
import sys

import pytest

from conftest import POLICIES, ROOT
from engine.policy import parsed
from engine.policy.yaml_docs import YamlError
from engine.policy.yaml_reader import iter_documents

AWKWARD = """\
kind: Test
7: seven          # keys of every scalar type
2.5: two and a half
true: a boolean key
null: a null key
"on": quoted, so text
flags: [yes, no, on, off, "yes", True]
numbers: [0, -0.0, 1e3, .inf, -.inf, 0x1F, 1_000]
dates: [2024-03-27, 2024-03-27T16:00:00+01:00]
nested: {a: [1, [2, {b: null}]], "": empty key}
text: "m"
more: s
---
- a list document
- [m, s]
---
just text
"""


def _typed(value):
    """``value`` with every scalar's type spelled out (1, 1.0 and True are equal in Python)."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


def _same(got, expected):
    assert [(_typed(d.data), d.file, d.index, d.line, list(d.positions.items()), list(d.implicit_bools.items()))
            for d in got] == \
           [(_typed(d.data), d.file, d.index, d.line, list(d.positions.items()), list(d.implicit_bools.items()))
            for d in expected]


@pytest.fixture
def store(monkeypatch, tmp_path):
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path))
    parsed.STORE.forget()
    yield tmp_path
    parsed.STORE.forget()


def _texts():
    yield "awkward.yaml", AWKWARD
    for path in sorted(POLICIES.glob("*.yaml")):
        yield path.name, path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name, text", list(_texts()), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_documents_read_back_are_the_readers_exactly(store, name, text):
    expected = list(iter_documents(text, name))
    _same(parsed.documents(text, name), expected)     # parsed, and stored
    parsed.STORE.forget()                              # as a later run: read from the file
    _same(parsed.documents(text, name), expected)
    _same(parsed.documents(text, "elsewhere/" + name), list(iter_documents(text, "elsewhere/" + name)))


def test_a_text_that_does_not_parse_is_refused_every_time_and_not_stored(store):
    bad = "a: 1\na: 2\n"
    for _ in range(2):
        with pytest.raises(YamlError) as caught:
            parsed.documents(bad, "bad.yaml")
        assert (caught.value.problem.line, caught.value.problem.col) == (2, 1)
        parsed.STORE.forget()
    assert all(json.loads(p.read_text())["answers"] == {} for p in store.glob("policy-yaml-*.json"))


@pytest.mark.parametrize("tamper", [lambda e: "not a list", lambda e: [e[0], "one", *e[2:]],
                                    lambda e: [["x", 1]] + e[1:], lambda e: e[:2],
                                    lambda e: [e[0], e[1], e[2], [[["kind"], "one", 1]], e[4]]])
def test_an_entry_edited_by_hand_is_parsed_again(store, tamper):
    text = AWKWARD
    expected = list(iter_documents(text, "a.yaml"))
    parsed.documents(text, "a.yaml")
    (path,) = store.glob("policy-yaml-*.json")
    data = json.loads(path.read_text())
    data["answers"] = {key: [tamper(entry) for entry in value] if isinstance(value, list) else value
                       for key, value in data["answers"].items()}
    path.write_text(json.dumps(data))
    parsed.STORE.forget()
    _same(parsed.documents(text, "a.yaml"), expected)


@pytest.mark.slow
def test_a_later_run_loads_the_shipped_policy_without_pyyaml(tmp_path):
    probe = ("import sys, engine; p = engine.PolicySet.load(sys.argv[1]); "
             "print(p.digest, 'yaml' in sys.modules)")
    env = {**os.environ, "TRIAGE_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", probe, str(POLICIES)], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    (first_digest, first_yaml), (second_digest, second_yaml) = (r.stdout.split() for r in runs)
    assert (first_yaml, second_yaml) == ("True", "False")
    assert first_digest == second_digest
