"""The compiled fast path never accepts a document that the authoritative validator rejects.

Every shipped document is mutated (wrong types, bad strings, unknown keys,
missing keys) and checked by both; wherever the fast path says "valid",
``jsonschema`` must report no error.  Shipped documents must pass both, or the
fast path would buy nothing.
"""
import copy
import random

import pytest

from engine.policy.loader import read_policy_dir
from engine.policy.schemas import fast_validator, validator
from conftest import POLICIES

WRONG_VALUES = [None, 0, -1, 1.5, True, "", "x", "5 buisness_days", "-1 hours", "P5", "25:00-26:00", "Mars/Olympus",
                [], {}, ["x"], {"x": 1}, "2024-13-40", "a" * 300]


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, path + (i,))


def _set(doc, path, value):
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def _mutations(data, rng, limit):
    paths = [p for p in _paths(data) if p]
    for path in rng.sample(paths, min(limit, len(paths))):
        for value in rng.sample(WRONG_VALUES, 4):
            mutated = copy.deepcopy(data)
            _set(mutated, path, value)
            yield mutated
        parent = copy.deepcopy(data)
        container = parent
        for part in path[:-1]:
            container = container[part]
        if isinstance(container, dict):
            del container[path[-1]]  # a missing key
            yield parent
            extra = copy.deepcopy(data)
            target = extra
            for part in path[:-1]:
                target = target[part]
            target["unknown_key"] = 1  # an unknown key
            yield extra


DOCUMENTS = read_policy_dir(POLICIES).documents


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: d.label)
def test_fast_path_agrees_with_jsonschema(doc):
    assert fast_validator(doc.kind)(doc.data) is not None  # shipped documents take the fast path
    rng = random.Random(doc.label)
    checked = accepted = 0
    for mutated in _mutations(doc.data, rng, limit=200):
        checked += 1
        try:
            fast_validator(doc.kind)(mutated)
        except Exception:
            continue
        accepted += 1
        errors = [e.message for e in validator(doc.kind).iter_errors(mutated)]
        assert errors == [], (errors, mutated)
    assert checked >= 50
