"""Reading ticket files (engine/facts/reader.py): explicit formats, streaming, positions, hostile input."""
import io
import json
import random

import pytest

from engine import TicketInput, input_format_for, read_ticket_batches, read_tickets
from engine.facts.reader import BATCH_LINES, MAX_LINE_BYTES, MAX_YAML_BYTES

CREATED = "2024-03-27T16:00:00+01:00"
BOM = b"\xef\xbb\xbf"


def _read(data: bytes, fmt: str | None = "jsonl") -> list[TicketInput]:
    return list(read_tickets(io.BytesIO(data), format=fmt))


def _lines(*tickets) -> bytes:
    return b"".join(json.dumps(t).encode() + b"\n" for t in tickets)


# --------------------------------------------------------------------------- formats
@pytest.mark.parametrize("name, fmt", [
    ("t.jsonl", "jsonl"), ("T.NDJSON", "jsonl"), ("t.json", "json"), ("t.yaml", "yaml"), ("dir.v2/t.yml", "yaml"),
    ("t.txt", "jsonl"), ("tickets", "jsonl"), ("dir.json/tickets", "jsonl"), ("-", "jsonl"), (None, "jsonl"),
])
def test_the_format_comes_from_the_name_and_is_jsonl_otherwise(name, fmt):
    assert input_format_for(name) == fmt


def test_the_default_format_is_taken_from_the_streams_name(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"id": "A"}, {"id": "B"}], indent=2))
    with open(path, "rb") as handle:
        assert [i.ticket["id"] for i in read_tickets(handle)] == ["A", "B"]
    assert _read(path.read_bytes(), None)[0].error.startswith("invalid JSON")  # no name: JSONL


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown input format 'csv'; use one of jsonl, json, yaml"):
        _read(b"", "csv")


# --------------------------------------------------------------------------- JSONL
def test_jsonl_one_bad_first_line_loses_nothing():
    """Guessing read the whole input as YAML after a bad first line: 37 good tickets became one error."""
    data = b"{oops\n" + _lines(*({"id": f"T-{n}"} for n in range(37)))
    items = _read(data)
    assert len(items) == 38 and items[0].error.startswith("invalid JSON") and items[0].line == 1
    assert [i.ticket["id"] for i in items[1:]] == [f"T-{n}" for n in range(37)]


def test_a_bom_is_stripped_at_the_start_and_where_a_file_was_appended():
    data = BOM + _lines({"id": "A"}) + BOM + _lines({"id": "B"}, {"id": "C"})
    assert [(i.line, i.ticket) for i in _read(data)] == [(1, {"id": "A"}), (2, {"id": "B"}), (3, {"id": "C"})]


def test_blank_lines_are_no_tickets_and_lines_keep_their_numbers():
    items = _read(b'\n{"id": "A"}\n   \r\n\n{"id": "B"}')
    assert [(i.line, i.ticket["id"]) for i in items] == [(2, "A"), (5, "B")]


def test_a_line_that_is_only_a_bom_is_blank():
    # an empty file appended to the input leaves its byte-order mark on a line of its own
    items = _read(_lines({"id": "A"}) + BOM + b"\n" + BOM + b" \n" + _lines({"id": "B"}))
    assert [(i.line, i.ticket["id"]) for i in items] == [(1, "A"), (4, "B")]


@pytest.mark.parametrize("line, duplicate", [
    (b'{"id": "A", "id": "B"}', "id"),
    (b'{"id": "A", "o": {"p": 1, "p": 2}}', "p"),
    (b'[{"id": "A"}, {"id": "B", "id": "C"}]', "id"),
    # whitespace before the colons, and a string holding '":' to even the count: still found
    (b'{"a" :1, "a" :2, "r": "\\":"}', "a"),
    (b'{"a"\t:1,"b":{"a":1},"a":2}', "a"),
])
def test_duplicate_fields_are_refused_at_any_depth(line, duplicate):
    (item,) = _read(line + b"\n")
    assert item.error == f"duplicate field {duplicate!r}"


@pytest.mark.parametrize("line", [
    b'{"id" : "A", "r": "x\\": y"}', b'{"o": {"p": 1}, "q": {"p": 2}}', b'{"s": "\\":\\":", "t": " :"}',
])
def test_no_false_duplicates(line):
    (item,) = _read(line)
    assert item.error is None and item.ticket == json.loads(line)


def test_values_orjson_refuses_reach_the_validator_as_before():
    """NaN, numbers beyond a double and lone surrogates are read (by the standard decoder), so that the
    validator and the evaluator name the field."""
    items = _read(b'{"a": NaN}\n{"a": 1e400}\n{"id": "\\ud800"}\n{"a": -Infinity}\n')
    assert [i.error for i in items] == [None] * 4
    assert str(items[0].ticket["a"]) == "nan" and items[1].ticket["a"] == float("inf")
    assert items[2].ticket == {"id": "\ud800"}


@pytest.mark.parametrize("line, message", [
    (b"[" * 100_000, "invalid JSON: nested too deeply"),
    (b'{"n": ' + b"9" * 5000 + b"}", "invalid JSON: a number with more than 4,300 digits"),
    (b'{"s": "\xff"}', "not UTF-8"),
    (b'{"id": "A",}', "invalid JSON: Expecting property name enclosed in double quotes at column 12"),
])
def test_unreadable_lines(line, message):
    (item,) = _read(line + b"\n")
    assert item.error == message and "set_int_max_str_digits" not in item.error


def test_an_over_long_line_is_one_error_and_the_next_line_is_read():
    long = json.dumps({"id": "L", "x": "y" * (MAX_LINE_BYTES + 10)}).encode()
    items = _read(_lines({"id": "A"}) + long + b"\n" + _lines({"id": "B"}))
    assert [(i.line, i.error) for i in items] == [(1, None), (2, f"line longer than {MAX_LINE_BYTES:,} bytes"),
                                                   (3, None)]


def test_a_json_array_on_a_line_gives_its_elements_with_their_index():
    items = _read(_lines({"id": "A"}, [{"id": "B"}, {"id": "C"}]))
    assert [(i.line, i.index, i.ticket["id"]) for i in items] == [(1, None, "A"), (2, 0, "B"), (2, 1, "C")]


def test_an_empty_array_on_a_line_holds_no_ticket():
    items = _read(_lines({"id": "A"}, [], {"id": "B"}))
    assert [(i.line, i.ticket["id"]) for i in items] == [(1, "A"), (3, "B")]


# --------------------------------------------------------------------------- JSON
def test_an_array_is_streamed_with_index_and_start_line():
    text = '\n\n[\n  {"id": "A"},\n  {"id": "B",\n   "o": {"p": "P1"}},  {"id": "C"},\n  5, {"id":\n "D"}\n]\n'
    items = _read(text.encode(), "json")
    assert [(i.line, i.index, i.ticket) for i in items] == [
        (4, 0, {"id": "A"}), (5, 1, {"id": "B", "o": {"p": "P1"}}), (6, 2, {"id": "C"}), (7, 3, 5),
        (7, 4, {"id": "D"})]
    assert all(type(i.ticket) is dict for i in items if i.index != 3)  # plain dicts: the validator's fast path


def test_array_elements_are_read_as_the_json_decoders_read_them():
    data = json.dumps([{"n": 1.5, "big": 123456789012345678901234567890, "e": 1e300, "t": True, "z": None,
                        "l": [1, 2.5], "u": "æ😀\u0000"}]).encode()
    (item,) = _read(data, "json")
    assert item.ticket == json.loads(data)[0]
    assert type(item.ticket["n"]) is float and type(item.ticket["big"]) is int


@pytest.mark.parametrize("text, errors", [
    ('[{"id": "A", "id": "B"}, {"id": "C"}]', {0: "duplicate field 'id'"}),
    ('[{"id": "A", "o": {"p": 1, "p": 2}}, {"id": "C"}]', {0: "duplicate field 'p'"}),
    ('[{"id": "A"},\n {"id": "B", "x": {"y": {"z": 1, "z": 2}}},\n {"id": "C", "id": "D"}]',
     {1: "duplicate field 'z'", 2: "duplicate field 'id'"}),
])
def test_duplicate_fields_in_an_array_are_errors_of_their_element(text, errors):
    items = _read(text.encode(), "json")
    assert {i.index: i.error for i in items if i.error} == errors
    assert all(i.ticket is not None for i in items if i.index not in errors)


@pytest.mark.parametrize("text, kept, line, index, message", [
    ('[{"id": "A"}, {"id": "B"}, {"a": NaN}, {"id": "C"}]', 2, 1, 2,
     "a character that cannot start a JSON value here (NaN, Infinity and comments are not JSON); "
     "the rest of the array cannot be read"),
    ('[\n{"id": "A"},\n{"id": "B"', 1, 3, 1, "the input ends inside the array"),
    ('[{"id": "A"}] trailing', 1, 1, None, "text after the end of the array"),
    ('[{"id": "A"},\n {"id": "B"},\n {"id": "C" "x": 1}]', 2, 3, 2, "the rest of the array cannot be read"),
])
def test_a_syntax_error_ends_the_array_with_one_error_record(text, kept, line, index, message):
    items = _read(text.encode(), "json")
    assert [i.error for i in items[:kept]] == [None] * kept and len(items) == kept + 1
    error = items[-1]
    assert (error.line, error.index) == (line, index)
    assert error.error.startswith("invalid JSON: ") and message in error.error


def test_lone_surrogates_in_an_array_are_kept_for_the_evaluator_to_refuse():
    """yajl decodes a lone surrogate escape as '?': the reader keeps the text as written."""
    text = r'[{"id": "\ud800", "r": "a\udc00b"}, {"id": "\ud83d\ude00 \\ud800"}, {"\udbff": 1}]'
    items = _read(text.encode(), "json")
    assert [i.ticket for i in items] == [{"id": "\ud800", "r": "a\udc00b"}, {"id": "😀 \\ud800"}, {"\udbff": 1}]


def test_escapes_cut_by_the_64_kib_pieces_of_a_long_line():
    """A compact array is one line, fed to the parser 64 KiB at a time: a piece never ends inside an
    escape, so surrogate pairs and lone surrogates are told apart wherever they fall."""
    rng = random.Random(7)
    tickets = []
    for n in range(8000):
        text = "".join(rng.choice(["\ud83d\ude00", "\ud800", "\\", "x", "\udfff", "é"]) for _ in range(rng.randint(0, 12)))
        tickets.append({"id": f"T-{n}", "t": text})
    data = json.dumps(tickets).encode()  # ensure_ascii: every non-ASCII character is an escape
    assert len(data) > 5 * 65536 and data.count(b"\n") == 0
    assert [i.ticket for i in _read(data, "json")] == json.loads(data)  # ("\\ud800\\udfff" is a pair)


@pytest.mark.parametrize("depth", [1025, 20_000, 200_000])
def test_an_array_nested_too_deeply_is_refused_at_once_and_what_came_before_is_kept(depth):
    """yajl's cost grows with the square of the depth (200,000 '[' took 22 s): past orjson's
    1,024 levels, as in JSONL, the element is an error naming its line and index, and the array ends."""
    data = b'[{"id": "A"},\n{"id": "B"}, ' + b"[" * depth + b"]" * depth + b', {"id": "C"}]\n'
    items = _read(data, "json")
    assert [(i.line, i.index, i.ticket) for i in items[:2]] == [(1, 0, {"id": "A"}), (2, 1, {"id": "B"})]
    (error,) = items[2:]
    assert (error.line, error.index) == (2, 2) and error.error.startswith("invalid JSON: nested too deeply")


def _depth(value) -> int:
    depth = 0
    while isinstance(value, (list, dict)) and value:
        value, depth = (value[0] if isinstance(value, list) else next(iter(value.values()))), depth + 1
    return depth + isinstance(value, (list, dict))


def test_depth_is_counted_outside_strings_across_the_pieces_of_a_long_line():
    """Brackets inside strings do not nest, even in a string cut by a 64 KiB piece, and 1,024
    levels are still read."""
    text = "]}" * 3 + "[{" * 40_000 + '\\"\u005b'
    tickets = [{"id": f"T-{n}", "t": text, "deep": [[[[]]]]} for n in range(4)]
    head = json.dumps(tickets).encode()[:-1]
    assert head.count(b"\n") == 0 and len(head) > 4 * 65536
    deepest = b', {"deep": ' + b"[" * 1022 + b"]" * 1022 + b"}"  # array, object, 1,022 lists
    items = _read(head + deepest + b"]", "json")
    assert [(i.error, i.ticket) for i in items[:4]] == [(None, t) for t in tickets]
    assert items[4].error is None and _depth(items[4].ticket) == 1023
    items = _read(head + deepest.replace(b"[", b"[[", 1).replace(b"]", b"]]", 1) + b"]", "json")
    assert [i.error is None for i in items] == [True] * 4 + [False]


@pytest.mark.parametrize("pad", range(4))
def test_a_long_run_of_backslashes_never_leaves_a_piece_ending_inside_an_escape(pad):
    """A string of 100,000 escaped backslashes (200 KB on a 64 KiB-piece line): the pieces end
    outside escapes wherever the run falls, so the string ends where it ends, and the depth after it
    is counted (the extension used to give up after 64 KiB, and the count then took the brackets
    after the string for text)."""
    tickets = [{"id": "A" * pad, "t": "\\" * 100_000}, {"id": "B", "t": "x\\"}]
    head = json.dumps(tickets).encode()[:-1]
    assert [(i.error, i.ticket) for i in _read(head + b"]", "json")] == [(None, t) for t in tickets]
    items = _read(head + b", " + b"[" * 1100 + b"]" * 1100 + b"]", "json")
    assert [i.error is None for i in items] == [True, True, False]
    assert items[2].error.startswith("invalid JSON: nested too deeply")


def test_a_json_document_that_is_not_an_array_is_one_ticket():
    assert _read(BOM + b'\n{"id": "A",\n "b": 2}', "json") == [TicketInput(2, {"id": "A", "b": 2})]
    assert _read(b"", "json") == [] and _read(b"  \n", "json") == []
    (item,) = _read(b'{"id": "A", "id": "B"}', "json")
    assert item.error == "duplicate field 'id'"


def test_an_array_and_jsonl_give_the_same_tickets():
    rng = random.Random(3)
    tickets = [{"id": f"T-{n}", "created_at": CREATED, "users_affected": rng.randint(0, 10**6),
                "delay_seconds": rng.random() * 100, "workaround": rng.random() < 0.5,
                **({"priority_override": {"priority": "P1", "reason": "r"}} if n % 7 == 0 else {})}
               for n in range(500)]
    expected = [(None, t) for t in tickets]
    for layout in ({}, {"indent": 2}, {"separators": (",", ":")}, {"indent": "\t"}):
        items = _read(json.dumps(tickets, **layout).encode(), "json")
        assert [(i.error, i.ticket) for i in items] == expected
        assert [i.index for i in items] == list(range(500))
    assert [(i.error, i.ticket) for i in _read(_lines(*tickets))] == expected


# --------------------------------------------------------------------------- YAML
def test_yaml_lists_give_index_and_line():
    items = _read(f"- id: A\n  created_at: {CREATED}\n- id: B\n".encode(), "yaml")
    assert [(i.line, i.index, i.ticket["id"]) for i in items] == [(1, 0, "A"), (3, 1, "B")]


def test_yaml_refusals_speak_of_ticket_files():
    (item,) = _read(b"- id: A\n- id: !!python/object:os.system x\n", "yaml")
    assert "is not allowed in ticket files" in item.error and "policy" not in item.error
    (big,) = _read(b"- id: A\n" * (MAX_YAML_BYTES // 8 + 1), "yaml")
    assert big.error.startswith("YAML ticket input is read whole and limited to 8 MiB")
    assert "policy" not in big.error


def test_a_yaml_number_of_5000_digits_is_refused_in_the_users_words():
    """The message quoted all 5,000 digits and told the user to call sys.set_int_max_str_digits()."""
    (item,) = _read(b"- id: A\n  users_affected: " + b"9" * 5000 + b"\n", "yaml")
    assert item.line == 2 and "a number with more than 4,300 digits" in item.error
    assert len(item.error) < 200 and "sys." not in item.error


@pytest.mark.parametrize("body, at_once", [
    (b'[{"id": "A", "created_at": "2024-03-27T16:00:00+01:00"}, {"id": "B"}, 1, "x", [1], null, 0.1, {"a": {"b": 1}}]',
     True),
    (b"[]", True), (b' [{"a": 1}] ', True),
    (b'[{"a": 1}, {"b": "\\":"}]', False),  # a string holding '":' makes the duplicate count unsure
    (b'[{"a":1,"a":2}]', False), (b'[{"a": {"b": 1, "b": 2}}]', False), (b"[1e400]", False),
    (b'[{"x": "\\ud800"}]', False), (b"[NaN]", False), (b'[{"a": 1},\n{"a": 2}]', False), (b'{"a": 1}', False),
    (b"[1, 2", False),
])
def test_a_one_line_array_read_at_once_gives_what_streaming_gives(body, at_once):
    from engine.facts.reader import read_json_array

    fast = read_json_array(body)
    assert (fast is not None) == at_once
    if fast is not None:
        assert fast == list(read_tickets(io.BytesIO(body), format="json"))


# --------------------------------------------------------------------------- batches
def _hostile_jsonl(n: int) -> bytes:
    """``n`` lines: tickets, with blank lines, a BOM, bad JSON, a duplicate key, a line holding an array
    and an over-long line spread through them."""
    rng = random.Random(n)
    odd = [b"\n", BOM + b'{"id": "bom"}\n', b"{oops\n", b'{"id": "d", "id": "e"}\n', b'[{"id": "x"}, {"id": "y"}]\n',
           b"[]\n", json.dumps({"id": "L", "x": "y" * (MAX_LINE_BYTES + 10)}).encode() + b"\n"]
    return b"".join(rng.choice(odd) if rng.random() < 0.05 else _lines({"id": f"T-{k}", "created_at": CREATED})
                    for k in range(n))


@pytest.mark.parametrize("n", [0, 1, BATCH_LINES - 1, BATCH_LINES, BATCH_LINES + 1, 3 * BATCH_LINES + 17])
def test_batches_hold_the_same_tickets_in_the_same_order_as_one_at_a_time(n):
    data = _hostile_jsonl(n)
    batches = list(read_ticket_batches(io.BytesIO(data), format="jsonl"))
    assert [item for batch in batches for item in batch] == _read(data)
    assert all(batches)  # no empty batch
    for batch in batches:  # a JSONL batch holds the tickets of at most BATCH_LINES lines
        assert batch[-1].line - batch[0].line < BATCH_LINES


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_batches_of_the_other_formats_hold_what_read_tickets_gives(fmt):
    tickets = [{"id": f"T-{k}", "created_at": CREATED} for k in range(2 * BATCH_LINES + 5)]
    data = json.dumps(tickets, indent=1).encode()  # JSON is YAML too
    batches = list(read_ticket_batches(io.BytesIO(data), format=fmt))
    assert [item for batch in batches for item in batch] == _read(data, fmt)
    assert [len(b) for b in batches] == [BATCH_LINES, BATCH_LINES, 5]


def test_batches_report_progress_up_to_the_whole_input():
    data = _lines(*({"id": f"T-{k}"} for k in range(3 * BATCH_LINES)))
    seen: list[int] = []
    for _ in read_ticket_batches(io.BytesIO(data), format="jsonl", progress=seen.append):
        pass
    assert seen[-1] == len(data) and seen == sorted(seen)
