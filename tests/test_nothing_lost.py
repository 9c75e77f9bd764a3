"""Nothing lost, nothing hangs: every ticket of an input gets exactly one record, whatever it holds.

The corpus is 1,000 tickets with 10 hostile ones spread through it (and a BOM in front of the
first, good, one).  ``triage evaluate`` writes 1,000 records and ``evaluated=990 failed=10``,
from a file and from stdin; ``evaluate_many`` over the same tickets yields 990 decisions and 10
TicketErrors.
"""
import json
import subprocess
import sys

import pytest

from cli import cli
from conftest import POLICIES, ROOT
from engine import Decision, PolicySet, TicketError
from engine.facts.reader import MAX_LINE_BYTES

CREATED = "2024-03-27T16:00:00+01:00"
LINES_OF_HOSTILE = {}  # filled by _corpus: 1-based line -> (ticket_id or None, field or None, words in the error)


def _hostile() -> list[tuple[dict, str | None, str | None, str]]:
    """(ticket, its id in the error record, the field named, words of the error)."""
    base = {"created_at": CREATED, "symptom": "question"}
    return [
        ({**base, "id": "H-1", "created_at": "0001-01-01T00:00:00+00:00"}, "H-1", "created_at",
         "outside the supported years 1970-2100"),
        ({**base, "id": "H-2", "created_at": "2101-06-01T09:00:00+02:00"}, "H-2", "created_at",
         "outside the supported years 1970-2100"),
        ({**base, "id": "H-3", "created_at": "9999-12-31T23:59:59-14:00"}, "H-3", "created_at",
         "outside the supported years 1970-2100"),
        ({**base, "id": "H-4", "location_id": "loc-suburb-12", "escalated_at": "9999-01-01T00:00:00+01:00"}, "H-4",
         "escalated_at", "outside the supported years 1970-2100"),
        ({**base, "id": "H-5", "created_at": "2100-12-31T16:00:00+01:00"}, "H-5", "created_at",
         "its due dates cannot be counted"),
        ({**base, "id": "\ud800"}, "\\ud800", "id", "not valid Unicode"),
        ({**base, "id": "H-7", "priority_override": {"priority": "P1", "reason": "VIP \udc00"}}, "H-7",
         "priority_override", "not valid Unicode"),
        ({**base, "id": "H-8", "delay_seconds": float("nan")}, "H-8", "delay_seconds", "number must be finite"),
        ({**base, "id": "H-9", "created_at": "2024-03-27T16:00:00+24:00"}, "H-9", "created_at",
         "UTC offset +24:00, outside -23:59 to +23:59"),
        ({**base, "id": "H-10", "location_id": "x" * (MAX_LINE_BYTES + 100)}, None, None, "line longer than"),
    ]


def _corpus() -> tuple[list[dict], bytes, dict[int, tuple]]:
    """The tickets, the JSONL bytes, and line -> what its error record says."""
    hostile = _hostile()
    tickets = [{"id": f"T-{n:04d}", "created_at": CREATED,
                "symptom": ["question", "down", "visual", "error_message"][n % 4],
                "service": ["charging", "app", "map", "exports"][n % 3], "customers_affected": n % 5}
               for n in range(990)]
    expected = {}
    for k, (ticket, ticket_id, field, words) in enumerate(hostile):
        at = 37 + k * 97  # spread through the input
        tickets.insert(at, ticket)
        expected[at + 1] = (ticket_id, field, words)
    # json.dumps writes NaN and "\ud800" as the hostile JSON they are
    lines = [json.dumps(t, allow_nan=True).encode() for t in tickets]
    return tickets, b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n", expected


@pytest.fixture(scope="module")
def corpus():
    return _corpus()


def _check_records(stdout: bytes, expected: dict) -> None:
    records = [json.loads(line) for line in stdout.decode("utf-8").splitlines()]
    assert len(records) == 1000
    errors = {r["line"]: r for r in records if "error" in r}
    assert sorted(errors) == sorted(expected)
    for line, (ticket_id, field, words) in expected.items():
        record = errors[line]
        assert (record["ticket_id"], record["field"]) == (ticket_id, field), record
        assert words in record["error"], record
    decisions = [r for r in records if "priority" in r]
    assert decisions[0]["ticket_id"] == "T-0000"  # the BOM took nothing
    assert [r["ticket_id"] for r in decisions] == [f"T-{n:04d}" for n in range(990)]


def test_a_file_gives_one_record_per_ticket(runner, corpus, tmp_path):
    _, data, expected = corpus
    path = tmp_path / "tickets.jsonl"
    path.write_bytes(data)
    result = runner.invoke(cli, ["evaluate", str(path), "--policies", str(POLICIES)])
    assert result.exit_code == 1
    assert result.stderr == "evaluated=990 failed=10\n"
    _check_records(result.stdout_bytes, expected)


def test_stdin_gives_one_record_per_ticket(runner, corpus):
    _, data, expected = corpus
    result = runner.invoke(cli, ["evaluate", "-", "--policies", str(POLICIES)], input=data)
    assert result.exit_code == 1
    assert result.stderr == "evaluated=990 failed=10\n"
    _check_records(result.stdout_bytes, expected)


def test_evaluate_many_yields_a_ticket_error_for_each_and_never_raises(corpus):
    tickets, _, expected = corpus
    results = list(PolicySet.load(POLICIES).evaluate_many(tickets))
    assert len(results) == 1000
    assert sum(type(r) is Decision for r in results) == 990
    failed = {n + 1: r for n, r in enumerate(results) if isinstance(r, TicketError)}
    assert sorted(failed) == sorted(expected)
    for line, (ticket_id, field, _) in expected.items():
        if field is not None:  # the over-long line is a reader's refusal; here its location_id is too long
            assert (failed[line].ticket_id, failed[line].field) == (ticket_id, field)
        str(failed[line]).encode("utf-8")  # every message can be printed


def test_a_json_array_gives_one_record_per_element_with_its_index(runner):
    tickets = [{"id": f"T-{n}", "created_at": CREATED} for n in range(50)]
    tickets[10]["created_at"] = "9999-01-01T00:00:00Z"
    tickets[20]["id"] = "\udfff"
    result = runner.invoke(cli, ["evaluate", "-", "--input-format", "json", "--policies", str(POLICIES)],
                           input=json.dumps(tickets, indent=2).encode())
    records = [json.loads(line) for line in result.stdout_bytes.splitlines()]
    assert len(records) == 50 and result.stderr == "evaluated=48 failed=2\n"
    errors = [r for r in records if "error" in r]
    assert [(r["index"], r["line"], r["field"]) for r in errors] == [(10, 42, "created_at"), (20, 82, "id")]


def test_a_compact_array_over_1_mib_on_stdin_is_streamed(runner):
    """It was refused outright (as one JSONL line over 1 MiB)."""
    tickets = [{"id": f"T-{n}", "created_at": CREATED, "symptom": "question"} for n in range(20_000)]
    data = json.dumps(tickets).encode()
    assert len(data) > 1024 * 1024
    result = runner.invoke(cli, ["evaluate", "-", "--input-format", "json", "--policies", str(POLICIES)], input=data)
    assert result.exit_code == 0 and result.stderr == "evaluated=20000 failed=0\n"


@pytest.mark.slow
def test_a_json_ticket_file_over_8_mib_is_streamed(runner, tmp_path):
    """It was refused as a "policy file" (over 8 MiB) when read as YAML after a failed guess."""
    path = tmp_path / "tickets.json"
    tickets = [{"id": f"T-{n}", "created_at": CREATED, "symptom": "question", "location_id": "x" * 200}
               for n in range(40_000)]
    path.write_text(json.dumps(tickets, indent=1))
    assert path.stat().st_size > 8 * 1024 * 1024
    result = runner.invoke(cli, ["evaluate", str(path), "--policies", str(POLICIES)])
    assert result.exit_code == 0 and result.stderr == "evaluated=40000 failed=0\n"


def test_a_yaml_ticket_file_over_8_mib_is_never_called_a_policy_file(runner, tmp_path):
    yaml_path = tmp_path / "tickets.yaml"
    yaml_path.write_text("".join(f"- id: T-{n}\n  created_at: '{CREATED}'\n  location_id: {'x' * 200}\n"
                                 for n in range(40_000)))
    result = runner.invoke(cli, ["evaluate", str(yaml_path), "--policies", str(POLICIES)])
    (record,) = [json.loads(line) for line in result.stdout_bytes.splitlines()]
    assert record["error"] == ("YAML ticket input is read whole and limited to 8 MiB; write large inputs as JSONL "
                               "or a JSON array (both are streamed)")
    assert result.exit_code == 1 and result.stderr == "evaluated=0 failed=1\n"


def test_unreadable_lines_keep_the_hostile_input_checks(runner):
    text = (b'{"id": "A", "created_at": "%s"}\n' % CREATED.encode() + b'{"id": "B", "id": "C"}\n'
            + b'{"id": "D", "o": {"p": 1, "p": 2}}\n' + b"[" * 100_000 + b"\n" + b'{"n": ' + b"9" * 5000 + b"}\n"
            + b'{"s": "\xff"}\n' + b'{"id": "E", "created_at": "%s"}\n' % CREATED.encode())
    result = runner.invoke(cli, ["evaluate", "-", "--policies", str(POLICIES)], input=text)
    records = [json.loads(line) for line in result.stdout_bytes.splitlines()]
    assert [r.get("error") for r in records] == [
        None, "duplicate field 'id'", "duplicate field 'p'", "invalid JSON: nested too deeply",
        "invalid JSON: a number with more than 4,300 digits", "not UTF-8", None]
    assert result.stderr == "evaluated=2 failed=5\n"


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_an_array_nested_200_000_deep_ends_at_once_with_one_error_record(tmp_path, source):
    """A real process under a watchdog: the streaming parser's cost grew with the square of the depth,
    and 200,000 '[' (400 KB) took 22 s.  The tickets before it keep their records."""
    data = (json.dumps([{"id": "A", "created_at": CREATED}, {"id": "B", "created_at": CREATED}])[:-1].encode()
            + b",\n" + b"[" * 200_000 + b"]" * 200_000 + b"]\n")
    path = tmp_path / "deep.json"
    path.write_bytes(data)
    args = [str(path)] if source == "file" else ["-", "--input-format", "json"]
    run = subprocess.run([sys.executable, str(ROOT / "cli.py"), "evaluate", *args, "--policies", str(POLICIES)],
                         input=data if source == "stdin" else None, capture_output=True, timeout=60)
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r.get("ticket_id") for r in records[:2]] == ["A", "B"] and len(records) == 3
    assert (records[2]["line"], records[2]["index"]) == (2, 2)
    assert records[2]["error"].startswith("invalid JSON: nested too deeply")
    assert run.returncode == 1 and run.stderr == b"evaluated=2 failed=1\n"


@pytest.mark.parametrize("command", ["evaluate", "explain"])
def test_a_lone_surrogate_never_crashes_a_real_process(command):
    """Through a real pipe and the real stdout: the command used to crash with a UnicodeEncodeError
    traceback mid-stream."""
    good = json.dumps({"id": "A", "created_at": CREATED})
    lines = [good, json.dumps({"id": "\ud800", "created_at": CREATED}),
             json.dumps({"id": "B", "created_at": CREATED, "x\udc00": "\ud801"}), good]
    stdin = "\n".join(lines if command == "evaluate" else lines[1:2]) + "\n"
    run = subprocess.run([sys.executable, str(ROOT / "cli.py"), command, "-", "--policies", str(POLICIES)],
                         input=stdin.encode(), capture_output=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "LANG": "C", "PYTHONIOENCODING": "ascii"})
    assert b"Traceback" not in run.stderr and run.returncode == 1, run.stderr
    if command == "evaluate":
        records = [json.loads(line) for line in run.stdout.splitlines()]
        assert [r["ticket_id"] for r in records] == ["A", "\\ud800", "B", "A"]
        assert [r.get("field") for r in records[1:3]] == ["id", "x\\udc00"]
        assert run.stderr == b"evaluated=2 failed=2\n"
    else:
        assert run.stdout == b"" and b"not valid Unicode" in run.stderr and b"\\ud800" in run.stderr
