"""Hostile and malformed YAML is refused with a located, readable problem."""
import time

import pytest

from engine.policy.loader import read_policy_dir, read_policy_text
from engine.policy.yaml_docs import MAX_FILE_BYTES
from engine.policy.yaml_reader import iter_documents


def _refusal(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    docs, problems = read_policy_text(raw, "p.yaml")
    assert docs == [] and len(problems) == 1, problems
    return str(problems[0])


def _billion_laughs(levels: int = 26) -> str:
    """The classic alias bomb: each level repeats the previous one nine times (9**26 'lol's)."""
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f'{names[0]}: &{names[0]} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


BILLION_LAUGHS = _billion_laughs()


def test_billion_laughs_is_refused_at_the_first_anchor():
    assert _refusal(BILLION_LAUGHS) == "p.yaml:1:4: anchor '&a' is not allowed in policy files; write the value out instead"


def test_billion_laughs_file_is_refused_before_any_expansion(tmp_path):
    # refused at its first anchor, so nothing is ever expanded; bench/bench_hostile.py measures
    # the time and peak memory of this refusal
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS)
    assert 900 < bomb.stat().st_size <= 1100
    result = read_policy_dir(tmp_path)
    assert result.documents == []
    assert [p.message for p in result.problems] == [
        "anchor '&a' is not allowed in policy files; write the value out instead"]


def test_alias_without_anchor_definition_on_same_line_is_refused():
    text = "a: &x 1\n"
    assert "anchor '&x'" in _refusal(text)


def test_oversized_file_is_refused_before_parsing():
    raw = b"a: " + b"x" * (MAX_FILE_BYTES + 1)
    message = _refusal(raw)
    assert message.startswith("p.yaml:1:1: file is ") and "limited to" in message


def test_non_utf8_bytes_are_located():
    assert _refusal(b"a: 1\nb: caf\xe9\n") == "p.yaml:2:7: byte 0xe9 is not valid UTF-8; save the file as UTF-8"


def test_tab_indentation_is_located():
    assert _refusal("a:\n\tb: 1\n") == "p.yaml:2:1: tab character in indentation; YAML indentation must use spaces"


def test_duplicate_keys_are_refused_with_both_lines():
    assert _refusal("a: 1\nb: 2\na: 3\n") == \
        "p.yaml:3:1: duplicate key 'a' (first defined at line 1); each key may appear once"


def test_nested_duplicate_keys():
    text = "spec:\n  hours:\n    mon: []\n    mon: []\n"
    assert _refusal(text).startswith("p.yaml:4:5: duplicate key 'mon'")


def test_python_tags_are_refused():
    assert "tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" in \
        _refusal("a: !!python/object/apply:os.system ['true']\n")


def test_nesting_deeper_than_64_levels_is_refused_at_the_65th():
    assert _refusal("a: " + "[" * 64 + "]" * 64) == "p.yaml:1:67: nesting deeper than 64 levels"
    assert _refusal("a:\n" + "".join(" " * n + f"k{n}:\n" for n in range(1, 65))) == \
        "p.yaml:65:65: nesting deeper than 64 levels"
    (doc,) = iter_documents("a: " + "[" * 63 + "]" * 63, "p.yaml")  # 64 levels are fine
    innermost = doc.data["a"]
    for _ in range(62):
        (innermost,) = innermost
    assert innermost == []


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "- " * 5000 + "1\n", "[" * 100_000 + "]" * 100_000],
                         ids=["flow-5000", "block-5000", "flow-100000"])
def test_deep_nesting_is_refused_without_recursion_error(text):
    # Whichever refuses first - our 64-level limit, or the YAML library's own (libyaml in
    # PyYAML 6.0.2+ stops at 1,000 flow levels) - the result is one located problem,
    # quickly, and never a RecursionError.  The library's wording is not ours to pin.
    start = time.perf_counter()
    docs, problems = read_policy_text(text.encode(), "p.yaml")
    elapsed = time.perf_counter() - start
    assert docs == [] and len(problems) == 1, problems
    (problem,) = problems
    assert problem.is_error and problem.file == "p.yaml" and problem.line == 1 and problem.col > 1
    assert "recursion" not in problem.message.lower()
    assert elapsed < 5  # milliseconds in practice (bench/bench_hostile.py); generous for a busy machine


def test_syntax_error_is_located():
    assert _refusal("a: [1, 2\nb: 3\n").startswith("p.yaml:2:2: invalid YAML: ")


@pytest.mark.parametrize("text, shape", [("- 1\n- 2\n", "a list"), ("hello\n", "the scalar 'hello'")])
def test_document_must_be_a_mapping(text, shape):
    assert _refusal(text) == ("p.yaml:1:1: a policy document must be a mapping with apiVersion, kind, "
                              f"metadata and spec, not {shape}")


def test_unknown_api_version_and_kind():
    docs, problems = read_policy_text(b"apiVersion: triage/v2\nkind: BusinessCalender\nmetadata: {name: x}\nspec: {}\n",
                                      "p.yaml")
    assert [str(p) for p in problems] == [
        "p.yaml:1:13: apiVersion: unknown apiVersion 'triage/v2'; this version of triage reads 'triage/v1'",
        "p.yaml:2:7: kind: unknown kind 'BusinessCalender'; did you mean 'BusinessCalendar'?",
    ]


def test_positions_of_values_and_keys():
    (doc,) = iter_documents("a: 1\nb:\n  - {c: x}\n", "f")
    assert doc.locate(("b", 0, "c")) == (3, 9)
    assert doc.locate(("b", 0, "c"), key=True) == (3, 6)
    assert doc.locate(("b", 0, "missing")) == (3, 5)


def test_dates_stay_text_and_yaml11_booleans_are_noted():
    (doc,) = iter_documents("d: 2024-06-05\ncountry: NO\n", "f")
    assert doc.data == {"d": "2024-06-05", "country": False}
    assert doc.implicit_bools == {("country",): "NO"}


def test_multi_document_file_skips_empty_documents():
    docs = list(iter_documents("---\na: 1\n---\n---\nb: 2\n", "f"))
    assert [d.data for d in docs] == [{"a": 1}, {"b": 2}]
    assert [d.line for d in docs] == [1, 4]


def test_scalars_are_typed_and_nothing_is_retained():
    import engine.policy.yaml_reader as module
    (doc,) = iter_documents("a: 1\nb: 1.5\nc: true\nd: null\ne: 2024-01-01\nf: x\ng: !!str 5\nh: 0x1F\n", "f")
    assert doc.data == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "2024-01-01", "f": "x", "g": "5", "h": 31}
    # regression: construct_object() kept every scalar node of every file ever read
    assert module._constructor.constructed_objects == {}


def test_collection_tag_on_a_scalar_is_refused():
    assert _refusal("a: !!map x\n") == "p.yaml:1:4: tag 'tag:yaml.org,2002:map' cannot be used on a scalar"


def test_oversized_file_in_a_directory_is_refused_unread(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (MAX_FILE_BYTES + 1))

    def no_open(*args, **kwargs):
        raise AssertionError("an oversized file must not be opened")

    monkeypatch.setattr("builtins.open", no_open)
    result = read_policy_dir(tmp_path)
    assert [str(p).split(": ", 1)[1] for p in result.problems] == [
        f"file is {MAX_FILE_BYTES + 4:,} bytes; policy files are limited to {MAX_FILE_BYTES:,} bytes"]


def test_a_number_of_5000_digits_is_refused_with_its_place_in_the_users_words():
    message = _refusal("kind: BusinessCalendar\nx: " + "9" * 5000 + "\n")
    assert ":2:4:" in message and "a number with more than 4,300 digits" in message
    assert len(message) < 300 and "sys." not in message
