"""Reading tickets from JSONL, JSON or YAML, one at a time, with their positions.

``read_tickets(stream, format=...)`` yields a ``TicketInput`` per ticket: its
1-based line in the input, its 0-based ``index`` when it is an element of a
JSON array or YAML list, and either the parsed ticket or the reason it could
not be read.  A bad ticket never stops the stream, and one record comes out
for every ticket that can be delimited.

The format is explicit, never guessed from the content (a guess turned one bad
first line into one error for a whole batch): ``jsonl``, ``json`` or ``yaml``;
``None`` (or ``"auto"``) takes it from the stream's file name (``.jsonl``/``.ndjson``,
``.json``, ``.yaml``/``.yml``), and JSONL for anything else, stdin included.  A
UTF-8 byte order mark is accepted and stripped.

* JSONL is read line by line (memory stays flat) and decoded with orjson; a
  line holding a JSON array gives one ticket per element.  A line that orjson
  refuses is read again by the standard library's decoder, so that NaN, a
  number too large for a double or a lone surrogate (``"\\ud800"``) reaches the
  validator, which names the field, as it always did.
* A JSON array is streamed element by element (ijson over yajl): time linear in
  its size, flat memory, each element with its index and the line it starts on.
  A syntax error ends the array: one error record says where, since nothing
  after it can be delimited.  So does nesting deeper than ``MAX_DEPTH``, found
  ahead of the parser (``nesting.py``: yajl's time grows with the square of
  the depth).  Any other JSON document is read whole (at most
  ``MAX_DOCUMENT_BYTES``).
* YAML is read whole (at most ``MAX_YAML_BYTES``) with the hostile-input-safe
  policy reader: no aliases, no tags, no duplicate keys.

Refused, each as an error for that ticket: JSONL lines longer than
``MAX_LINE_BYTES``, invalid JSON, JSON nested too deeply, duplicate field
names (at any depth), non-UTF-8 bytes.  Integers beyond 64 bits in JSONL are
read as the nearest double, as orjson does.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from itertools import chain, islice
from typing import IO, Any, Callable, Iterator, NamedTuple

import orjson

from ..policy.yaml_docs import YamlError, decode
from .nesting import BRACKET as _BRACKET, MAX_DEPTH, Nesting

FORMATS = ("jsonl", "json", "yaml")
MAX_LINE_BYTES = 1024 * 1024
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
MAX_YAML_BYTES = 8 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_CHUNK = 64 * 1024
_PROGRESS_EVERY = 1024 * 1024
BATCH_LINES = 128  # JSONL lines per batch of read_ticket_batches
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}


class TicketInput(NamedTuple):
    """One ticket as read: where it is (``line``; ``index`` inside an array or list), and the
    ticket, or ``error`` saying why it could not be read."""

    line: int
    ticket: Any = None
    error: str | None = None
    index: int | None = None


def format_for(name: str | None) -> str:
    """The input format a file name implies: by its extension; JSONL for any other name and for
    stdin (``None`` or ``"-"``)."""
    if not name or name == "-":
        return "jsonl"
    dot = name.rfind(".")
    return _EXTENSIONS.get(name[dot:].lower(), "jsonl") if dot > name.replace("\\", "/").rfind("/") else "jsonl"


def _format_of(stream: IO[bytes], format: str | None) -> str:
    if format in (None, "auto"):
        name = getattr(stream, "name", None)
        return format_for(name if isinstance(name, str) else None)
    return format


def read_tickets(stream: IO[bytes], *, format: str | None = None,
                 progress: Callable[[int], None] | None = None) -> Iterator[TicketInput]:
    """Yield every ticket of a binary stream.

    ``format``: ``jsonl``, ``json`` or ``yaml``; ``None`` or ``"auto"`` takes it from the stream's
    ``name`` (see :func:`format_for`).  ``progress`` is called now and then with the number of
    bytes consumed so far.
    """
    format = _format_of(stream, format)
    if format == "jsonl":
        return _read_jsonl(stream, progress)
    if format == "json":
        return _read_json(stream, progress)
    if format == "yaml":
        return _read_yaml(stream)
    raise ValueError(f"unknown input format {format!r}; use one of {', '.join(FORMATS)}")


def read_ticket_batches(stream: IO[bytes], *, format: str | None = None,
                        progress: Callable[[int], None] | None = None) -> Iterator[list[TicketInput]]:
    """The ``TicketInput``s of :func:`read_tickets`, in the same order, in lists: those of up to
    ``BATCH_LINES`` lines of JSONL, or up to as many tickets of the other formats.  Cheaper per
    ticket than one at a time, for a caller that works a batch at a time anyway."""
    format = _format_of(stream, format)
    if format == "jsonl":
        return _jsonl_batches(stream, progress, BATCH_LINES)
    items = read_tickets(stream, format=format, progress=progress)
    return iter(lambda: list(islice(items, BATCH_LINES)), [])


# --------------------------------------------------------------------------- JSON values
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


_WHITESPACE = b" \t\r\n"


def _key_count(value: Any) -> int:
    """How many keys the objects in ``value`` hold, at every depth (no recursion: orjson nests 1024 deep)."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            count += len(item)
            stack.extend(v for v in item.values() if type(v) is dict or type(v) is list)
        elif type(item) is list:
            stack.extend(v for v in item if type(v) is dict or type(v) is list)
    return count


def _no_duplicates(raw: bytes, value: Any) -> bool:
    """True when ``raw``, which orjson decoded to ``value``, certainly has no duplicate keys.

    orjson keeps the last of duplicate keys silently.  With the whitespace taken out, every key of
    ``raw`` reads ``"key":``, so ``raw`` has at least as many ``":`` as keys, and exactly as many
    unless a string holds ``":`` too; ``value`` holds as many keys as ``raw`` less the duplicates.
    Equal counts therefore prove there is none; unequal ones send the line to the standard
    decoder, which finds the duplicate or reads it as is.
    """
    found = raw.translate(None, _WHITESPACE).count(b'":')
    if type(value) is dict and found == len(value):  # the common, flat ticket
        return True
    return found == _key_count(value)


def _loads_slowly(raw: bytes) -> tuple[Any, str | None]:
    """The standard decoder: duplicate keys refused, NaN and huge numbers read (the validator
    names them), lone surrogates read (the evaluator names them).  (value, None) or (None, error)."""
    try:
        text = raw.decode("utf-8").strip()  # a line's own newline would make its error "at line 2"
    except UnicodeDecodeError:
        return None, "not UTF-8"
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return json.loads(text, object_pairs_hook=_pairs), None
    except _Duplicate as exc:
        return None, str(exc)
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}" if exc.lineno > 1 else f"column {exc.colno}"
        return None, f"invalid JSON: {exc.msg} at {where}"
    except ValueError as exc:  # int() refusing a number of more than 4,300 digits
        if "digits" in str(exc):
            return None, "invalid JSON: a number with more than 4,300 digits"
        return None, "invalid JSON"


def _loads(raw: bytes) -> tuple[Any, str | None]:
    """(value, None) or (None, error) for one JSON text."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _loads_slowly(raw)
    if (type(value) is dict or type(value) is list) and not _no_duplicates(raw, value):
        return _loads_slowly(raw)
    return value, None


# --------------------------------------------------------------------------- JSONL
_new = tuple.__new__  # builds a TicketInput from its fields, without its Python-level __new__


def _read_jsonl(stream: IO[bytes], progress: Callable[[int], None] | None) -> Iterator[TicketInput]:
    return chain.from_iterable(_jsonl_batches(stream, progress, BATCH_LINES))


def _jsonl_batches(stream: IO[bytes], progress: Callable[[int], None] | None, size: int) -> Iterator[list[TicketInput]]:
    """The tickets of a JSONL stream, in lists of those of up to ``size`` lines (one list per run of
    lines: the generator resumes once a batch, not once a ticket)."""
    readline, loads, new = stream.readline, orjson.loads, _new
    limit = MAX_LINE_BYTES + 1
    lineno = consumed = 0
    report = _PROGRESS_EVERY
    batch: list[TicketInput] = []
    append = batch.append
    end = size
    while True:
        if lineno >= end:
            if batch:
                yield batch
                batch = []
                append = batch.append
            end = lineno + size
        raw = readline(limit)
        if not raw:
            break
        lineno += 1
        if progress is not None:
            consumed += len(raw)
            if consumed >= report:
                progress(consumed)
                report = consumed + _PROGRESS_EVERY
        if len(raw) == limit and raw[-1] != 10:
            while raw and raw[-1] != 10:  # skip the rest of the over-long line
                raw = readline(_CHUNK)
                consumed += len(raw)
            append(TicketInput(lineno, error=f"line longer than {MAX_LINE_BYTES:,} bytes"))
            continue
        try:  # the fast path: orjson, and a count that proves there is no duplicate key
            value = loads(raw)
        except orjson.JSONDecodeError:
            if raw.startswith(_BOM):  # at the start of the input, or of a file appended to it
                raw = raw[3:]
            if not raw.strip():
                continue  # a blank line is no ticket
            value, error = _loads_slowly(raw)
        else:
            if type(value) is dict and raw.translate(None, _WHITESPACE).count(b'":') == len(value):
                append(new(TicketInput, (lineno, value, None, None)))
                continue
            error = None
            if (type(value) is dict or type(value) is list) and not _no_duplicates(raw, value):
                value, error = _loads_slowly(raw)
        if error is not None:
            append(TicketInput(lineno, error=error))
        elif type(value) is list:  # a JSON array on one line: one ticket per element
            for index, item in enumerate(value):
                append(TicketInput(lineno, item, None, index))
        else:
            append(TicketInput(lineno, value))
    if batch:
        yield batch
    if progress is not None:
        progress(consumed)


# --------------------------------------------------------------------------- JSON
def _read_json(stream: IO[bytes], progress: Callable[[int], None] | None) -> Iterator[TicketInput]:
    """A JSON array streamed element by element; any other JSON document read whole."""
    lineno = 1
    chunk = stream.readline(_CHUNK)
    if chunk.startswith(_BOM):
        chunk = chunk[3:]
    while not chunk.strip():  # up to the first line that is not whitespace
        if not chunk:
            return  # empty input: no tickets
        if chunk.endswith(b"\n"):
            lineno += 1
        chunk = stream.readline(_CHUNK)
    if chunk.lstrip()[:1] == b"[":
        yield from _JsonArray(stream, progress, lineno).read_elements(chunk)
        return
    data = chunk + stream.read(MAX_DOCUMENT_BYTES + 1 - len(chunk))
    if len(data) > MAX_DOCUMENT_BYTES:
        yield TicketInput(lineno, error=f"a JSON document other than an array is read whole, and this one is "
                                        f"larger than {MAX_DOCUMENT_BYTES // 2**20} MiB; write the tickets as a "
                                        f"JSON array or as JSONL (both are streamed)")
        return
    value, error = _loads(data)
    yield TicketInput(lineno, error=error) if error is not None else TicketInput(lineno, value)


def read_json_array(data: bytes) -> list[TicketInput] | None:
    """A JSON array on one line, already in memory, read at once with orjson (about 5x faster than
    streaming it): the ``TicketInput``s ``read_tickets(format="json")`` yields for it, every element
    on line 1.  ``None`` when that cannot be proved (a newline, invalid JSON, NaN, a lone surrogate,
    a possible duplicate key, not an array): then stream it with ``read_tickets``."""
    if b"\n" in data:
        return None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not list or not _no_duplicates(data, value):
        return None
    return [_new(TicketInput, (1, item, None, index)) for index, item in enumerate(value)]


# A lone surrogate escape, which yajl silently decodes as '?': each is swapped for a private-use
# character (U+F0000 + its offset from U+D800) before yajl sees it, and swapped back afterwards.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
_MARK_BASE = 0xF0000
_MARKED = re.compile("[\U000f0000-\U000f07ff]")


def _mark_lone_surrogates(chunk: bytes) -> tuple[bytes, int]:
    """``chunk`` with each lone surrogate escape replaced by the escape of its marker, and how many.

    ``chunk`` starts outside any escape (the caller never cuts one), so escapes are found by
    reading them in order: ``\\\\`` is one escape, and ``\\\\ud800`` after it is text."""
    out, last, count = [], 0, 0
    matches = list(_ESCAPE.finditer(chunk))
    skip = False
    for i, m in enumerate(matches):
        if skip:
            skip = False
            continue
        hexa = m.group(1)
        if hexa is None:
            continue
        code = int(hexa, 16)
        if 0xD800 <= code <= 0xDBFF and i + 1 < len(matches):
            nxt = matches[i + 1]
            low = nxt.group(1)
            if nxt.start() == m.end() and low is not None and 0xDC00 <= int(low, 16) <= 0xDFFF:
                skip = True  # a proper pair
                continue
        if 0xD800 <= code <= 0xDFFF:
            v = _MARK_BASE + code - 0xD800 - 0x10000
            out += [chunk[last:m.start()], b"\\u%04x\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))]
            last = m.end()
            count += 1
    if not count:
        return chunk, 0
    out.append(chunk[last:])
    return b"".join(out), count


def _unmark(text: str) -> str:
    return _MARKED.sub(lambda m: chr(ord(m.group()) - _MARK_BASE + 0xD800), text)


def _unmarked(value: Any) -> tuple[Any, int]:
    """``value`` with marked lone surrogates restored, and how many there were."""
    if type(value) is str:
        if _MARKED.search(value) is None:
            return value, 0
        return _unmark(value), len(_MARKED.findall(value))
    if isinstance(value, dict):
        out, total = {}, 0
        for key, item in value.items():
            key, n = _unmarked(key)
            item, m = _unmarked(item)
            out[key] = item
            total += n + m
        return (out if total else value), total
    if type(value) is list:
        items = [_unmarked(item) for item in value]
        total = sum(n for _, n in items)
        return ([item for item, _ in items] if total else value), total
    return value, 0


class _TooDeep(Exception):
    """Raised through the parser when the input nests deeper than ``MAX_DEPTH``."""


class _JsonArray:
    """Streams the elements of a JSON array: ijson's C parser reads the input through ``read``,
    one line (at most 64 KiB of one) at a time, so that each object notes the line it starts on."""

    def __init__(self, stream: IO[bytes], progress: Callable[[int], None] | None, line: int) -> None:
        self.stream, self.progress = stream, progress
        self.line = line        # of the piece being parsed
        self.next_line = line   # of the next piece
        self.pending: bytes | None = None
        self.consumed = 0
        self.report = _PROGRESS_EVERY
        self.duplicates = 0   # duplicate keys seen and not yet found in a completed element
        self.marks = 0        # lone surrogates marked and not yet found in a completed element
        self.nesting = Nesting()
        self.too_deep = False  # the input went past MAX_DEPTH: the parser has had all it gets
        reader = self

        class _Object(dict):
            """What yajl builds JSON objects as: notes its line, keeps the first of duplicate keys
            (for the message) and reads decimals as floats, as the JSON decoders do."""

            __slots__ = ("line", "duplicate")

            def __init__(self) -> None:
                self.line = reader.line
                self.duplicate = None

            def __setitem__(self, key: str, value: Any) -> None:
                if key in self:
                    if self.duplicate is None:
                        self.duplicate = key
                        reader.duplicates += 1
                    return
                if type(value) is Decimal:
                    value = float(value)
                dict.__setitem__(self, key, value)

        self.object_type = _Object

    def read(self, size: int = -1) -> bytes:
        """The next piece of input for the parser: a line, or 64 KiB of a longer one."""
        if size == 0:
            return b""
        if self.too_deep:
            raise _TooDeep
        chunk = self.pending if self.pending is not None else self.stream.readline(_CHUNK)
        self.pending = None
        self.line = self.next_line
        if not chunk:
            return chunk
        if not chunk.endswith(b"\n"):
            chunk = self._uncut(chunk)
        # a whole line without brackets leaves the depth as it is (a JSON string never holds a
        # newline): most lines of an indented array are skipped here, without a call
        if self.nesting.in_string or _BRACKET.search(chunk) is not None or not chunk.endswith(b"\n"):
            cut = self.nesting.feed(chunk)
            if cut is not None:  # the parser gets what comes before the bracket too deep, then stops
                self.too_deep = True
                chunk = chunk[:cut]
                if not chunk:
                    raise _TooDeep
        if chunk.endswith(b"\n"):
            self.next_line += 1
        if self.progress is not None:
            self.consumed += len(chunk)
            if self.consumed >= self.report:
                self.progress(self.consumed)
                self.report = self.consumed + _PROGRESS_EVERY
        if b"\\" in chunk and _SURROGATE_ESCAPE.search(chunk) is not None:
            chunk, marked = _mark_lone_surrogates(chunk)
            self.marks += marked
        return chunk

    def read_elements(self, first: bytes) -> Iterator[TicketInput]:
        import ijson  # here: JSONL, the common input, never needs it

        self.pending = first
        index = 0
        element = self._element
        try:
            for item in ijson.items(self, "item", map_type=self.object_type, use_float=False, buf_size=_CHUNK):
                yield element(item, index)
                index += 1
        except _TooDeep:
            yield TicketInput(self.line, error=f"invalid JSON: nested too deeply (more than {MAX_DEPTH} levels); "
                                               f"the rest of the array cannot be read", index=index)
        except ijson.JSONError as exc:
            message, inside = _yajl_message(exc)
            yield TicketInput(self.line, error=message, index=index if inside else None)
        if self.progress is not None:
            self.progress(self.consumed)

    def _uncut(self, chunk: bytes) -> bytes:
        """A 64 KiB piece of a long line, extended so that it does not end inside an escape
        (12 bytes: a surrogate pair's); the next piece then starts outside any escape.  A long run
        of backslashes is read in growing steps: linear time, however long."""
        parts, tail, step = [chunk], chunk[-12:], 12
        while b"\\" in tail:
            more = self.stream.readline(step)
            if not more:
                break
            parts.append(more)
            tail = (tail + more)[-12:]
            if more.endswith(b"\n"):
                break
            step = min(2 * step, _CHUNK)
        return chunk if len(parts) == 1 else b"".join(parts)

    def _element(self, item: Any, index: int) -> TicketInput:
        line = self.line
        if isinstance(item, self.object_type):
            line = item.line
            if self.duplicates or self.marks:
                return self._suspect(item, index, line)
            return _new(TicketInput, (line, dict(item), None, index))
        if type(item) is Decimal:
            item = float(item)
        elif (self.duplicates or self.marks) and type(item) is list:
            return self._suspect(item, index, line)
        return TicketInput(line, item, None, index)

    def _suspect(self, item: Any, index: int, line: int) -> TicketInput:
        """An element completed while a duplicate key or a lone surrogate is not yet accounted for:
        look inside it."""
        duplicate = _first_duplicate(item, self.object_type)
        if duplicate is not None:
            self.duplicates -= _count_duplicates(item, self.object_type)
            return TicketInput(line, error=f"duplicate field {duplicate!r}", index=index)
        ticket = dict(item) if isinstance(item, dict) else item
        if self.marks:
            ticket, found = _unmarked(ticket)
            self.marks -= found
        return TicketInput(line, ticket, None, index)


def _walk_objects(value: Any, object_type: type) -> Iterator[Any]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, object_type):
            yield item
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif type(item) is list:
            stack.extend(v for v in item if isinstance(v, (dict, list)))


def _first_duplicate(value: Any, object_type: type) -> str | None:
    for obj in _walk_objects(value, object_type):
        if obj.duplicate is not None:
            return obj.duplicate
    return None


def _count_duplicates(value: Any, object_type: type) -> int:
    return sum(1 for obj in _walk_objects(value, object_type) if obj.duplicate is not None)


def _yajl_message(exc: Exception) -> tuple[str, bool]:
    """yajl's message in words (its first line: the rest quotes the input), and whether it is about
    an element (else about text after the array)."""
    raw = exc.args[0] if exc.args else str(exc)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    head = text.strip().splitlines()[0].strip() if text.strip() else "invalid JSON"
    for prefix in ("lexical error: ", "parse error: "):
        if head.startswith(prefix):
            head = head[len(prefix):]
    head = head.rstrip(".")
    if head == "trailing garbage":
        return "invalid JSON: text after the end of the array", False
    if head == "premature EOF":
        return "invalid JSON: the input ends inside the array", True
    if head == "invalid char in json text":
        head = "a character that cannot start a JSON value here (NaN, Infinity and comments are not JSON)"
    return f"invalid JSON: {head}; the rest of the array cannot be read", True


# --------------------------------------------------------------------------- YAML
def _read_yaml(stream: IO[bytes]) -> Iterator[TicketInput]:
    data = stream.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        yield TicketInput(1, error=f"YAML ticket input is read whole and limited to {MAX_YAML_BYTES // 2**20} MiB; "
                                   f"write large inputs as JSONL or a JSON array (both are streamed)")
        return
    from ..policy.yaml_reader import iter_documents  # here: only YAML tickets need the parser

    try:
        text = decode(data, "<tickets>")
        for doc in iter_documents(text, "<tickets>"):
            if isinstance(doc.data, list):
                for i, item in enumerate(doc.data):
                    yield TicketInput(doc.positions.get((i,), (doc.line, 1))[0], item, None, i)
            else:
                yield TicketInput(doc.positions.get((), (doc.line, 1))[0], doc.data)
    except YamlError as exc:
        problem = exc.problem
        # the policy reader words its refusals for policy files
        yield TicketInput(problem.line or 1, error=problem.message.replace("policy files", "ticket files"))
