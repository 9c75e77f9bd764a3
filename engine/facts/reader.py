"""Reading tickets from JSON, JSONL or YAML, one at a time, with their line numbers.

``read_tickets(stream)`` yields a ``TicketInput`` per ticket: its 1-based line
in the input, and either the parsed ticket or the reason it could not be
read.  A bad line never stops the stream.  JSONL is read line by line, so
memory stays flat however long the input is; a JSON array or a YAML file is
parsed whole (both are bounded by ``MAX_DOCUMENT_BYTES``).

Refused, each as an error for that ticket: lines longer than ``MAX_LINE_BYTES``,
invalid JSON, JSON nested too deep, duplicate field names, non-UTF-8 bytes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator

from ..policy.yaml_reader import YamlError, decode, iter_documents

MAX_LINE_BYTES = 1024 * 1024
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class TicketInput:
    line: int
    ticket: Any = None
    error: str | None = None


class _Duplicate(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):  # rare: find the culprit for the message
        seen: set = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(f"duplicate field {key!r}")
            seen.add(key)
    return out


def _loads(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_pairs)


def _json_error(exc: Exception) -> str:
    if isinstance(exc, _Duplicate):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "invalid JSON: nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} at column {exc.colno}"
    return f"invalid JSON: {exc}"


def read_tickets(stream: IO[bytes], *, format: str = "auto",
                 progress: Callable[[int], None] | None = None) -> Iterator[TicketInput]:
    """Yield every ticket of a binary stream.  ``format``: auto, json, jsonl or yaml.

    ``auto`` reads JSONL when the first line is a complete JSON value, JSON when
    the whole input is, and YAML otherwise.  ``progress`` is called with the
    number of bytes consumed so far.
    """
    consumed = 0
    if format in ("auto", "jsonl"):
        lineno = 0
        while True:
            raw = stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            lineno += 1
            consumed += len(raw)
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest of the over-long line
                    raw = stream.readline(MAX_LINE_BYTES)
                    consumed += len(raw)
                yield TicketInput(lineno, error=f"line longer than {MAX_LINE_BYTES:,} bytes")
                continue
            if progress:
                progress(consumed)
            text = raw.strip()
            if not text:
                continue
            try:
                value = _loads(text.decode("utf-8"))
            except (ValueError, RecursionError, UnicodeDecodeError) as exc:
                if format == "auto" and lineno == 1 and not isinstance(exc, _Duplicate):
                    rest = stream.read(MAX_DOCUMENT_BYTES + 1 - len(raw))
                    yield from _read_document(raw + rest, "auto")
                    return
                error = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else _json_error(exc)
                yield TicketInput(lineno, error=error)
                continue
            format = "jsonl"
            if isinstance(value, list) and lineno == 1:  # a one-line JSON array of tickets
                yield from (TicketInput(1, ticket=item) for item in value)
                continue
            yield TicketInput(lineno, ticket=value)
    else:
        data = stream.read(MAX_DOCUMENT_BYTES + 1)
        yield from _read_document(data, format)


def _read_document(data: bytes, format: str) -> Iterator[TicketInput]:
    if len(data) > MAX_DOCUMENT_BYTES:
        yield TicketInput(1, error=f"input larger than {MAX_DOCUMENT_BYTES:,} bytes; use JSONL for large inputs")
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield TicketInput(1, error="input is not UTF-8")
        return
    if format in ("auto", "json"):
        try:
            value = _loads(text)
        except (ValueError, RecursionError) as exc:
            if format == "json":
                line = getattr(exc, "lineno", 1)
                yield TicketInput(line, error=_json_error(exc))
                return
        else:
            yield from _json_tickets(value, text)
            return
    yield from _yaml_tickets(text)


def _json_tickets(value: Any, text: str) -> Iterator[TicketInput]:
    if not isinstance(value, list):
        yield TicketInput(1, ticket=value)
        return
    # line of each element: found by decoding the array element by element
    decoder = json.JSONDecoder(object_pairs_hook=_pairs)
    pos = text.index("[") + 1
    for item in value:
        while text[pos] in " \t\r\n,":
            pos += 1
        line = text.count("\n", 0, pos) + 1
        _, pos = decoder.raw_decode(text, pos)
        yield TicketInput(line, ticket=item)


def _yaml_tickets(text: str) -> Iterator[TicketInput]:
    try:
        text = decode(text.encode("utf-8"), "<tickets>")
        for doc in iter_documents(text, "<tickets>"):
            if isinstance(doc.data, list):
                for i, item in enumerate(doc.data):
                    yield TicketInput(doc.positions.get((i,), (doc.line, 1))[0], ticket=item)
            else:
                yield TicketInput(doc.positions.get((), (doc.line, 1))[0], ticket=doc.data)
    except YamlError as exc:
        problem = exc.problem
        yield TicketInput(problem.line or 1, error=problem.message)
