"""The JSON Schemas: valid draft 2020-12, in sync with the code, referenced by every shipped file."""
import json
import re

import jsonschema
import pytest

from engine import document_schema
from engine.calendar.duration import DURATION_PATTERN, UNITS
from engine.policy.loader import policy_files
from engine.policy.schemas import KINDS
from conftest import POLICIES, ROOT


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_and_strict(kind):
    schema = json.loads((ROOT / "schemas" / f"{kind}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["kind"] == {"const": kind}
    # every object in the schema closes its properties, so that a typo is caught
    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")
    walk(schema, kind)


def test_duration_pattern_is_the_parsers():
    targets = document_schema("PriorityTargets")
    assert targets["$defs"]["duration"]["pattern"] == DURATION_PATTERN
    assert re.search(DURATION_PATTERN, "5 business_days") and not re.search(DURATION_PATTERN, "5 buisness_days")
    assert all(re.search(DURATION_PATTERN, f"2 {unit}") for unit in UNITS)


def test_weekday_keys_are_enumerated_for_autocompletion():
    hours = document_schema("BusinessCalendar")["properties"]["spec"]["properties"]["hours"]["properties"]
    assert {"mon", "sun", "mon-fri", "mon-sun", "sat-sun"} <= set(hours)
    assert "fri-mon" not in hours and len(hours) == 28


def test_every_shipped_policy_file_has_a_schema_modeline():
    files = policy_files(POLICIES)
    assert len(files) >= 6
    for path in files:
        first = path.read_text().splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, path
        target = (path.parent / match.group(1)).resolve()
        assert target.is_file() and target.parent == (ROOT / "schemas").resolve(), path
        kinds = set(re.findall(r"^kind: (\w+)$", path.read_text(), re.M))
        assert kinds == {target.stem}, path
