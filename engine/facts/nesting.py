"""How deep a JSON text nests, counted piece by piece as a streaming parser is fed.

yajl, under ijson, builds a path for every level it is inside, so a document of
n nested brackets costs it time in n²: 80,000 ``[`` took 10 s, and 200,000 took
22 s.  ``Nesting`` counts the depth ahead of the parser, outside strings,
and says where a piece would take it past ``MAX_DEPTH`` (orjson's own limit,
so that a JSON array and JSONL refuse the same tickets), so that the parser is
never given that part.

A piece may end inside a string (a long line is fed 64 KiB at a time), but
never inside an escape: whether the next piece starts inside a string is
carried over.  The count is exact for valid JSON up to the first syntax error,
where the parser stops anyway.
"""
from __future__ import annotations

import re

MAX_DEPTH = 1024

# what is left of a piece to count: its quotes and brackets (escapes taken out first)
_NOT_MARKS = bytes(c for c in range(256) if c not in b'"[]{}')
BRACKET = re.compile(rb"[\[\]{}]")  # a whole line without one leaves the depth as it is
# the rest of a string begun in an earlier piece; group 1 is its closing quote, if in this piece
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*(")?', re.DOTALL)
# a string (group 1: its closing quote, if in this piece) or a bracket
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(")?|[\[\]{}]', re.DOTALL)


class Nesting:
    """The depth after the pieces fed so far, and whether they end inside a string."""

    __slots__ = ("depth", "in_string", "limit")

    def __init__(self, limit: int = MAX_DEPTH) -> None:
        self.depth = 0
        self.in_string = False
        self.limit = limit

    def feed(self, piece: bytes) -> int | None:
        """Count ``piece`` in; ``None``, or the offset in ``piece`` of the bracket that opens
        level ``limit + 1`` (the count then stops there)."""
        if not self.in_string:
            if b'"' not in piece:  # no string in it: its brackets count as they are
                opens = piece.count(b"[") + piece.count(b"{")
                if self.depth + opens <= self.limit:
                    self.depth = max(0, self.depth + opens - piece.count(b"]") - piece.count(b"}"))
                    return None  # (else: bracket by bracket, below)
        marks = piece
        if b"\\" in marks:  # escapes out: an escaped backslash, then an escaped quote
            marks = marks.replace(b"\\\\", b"").replace(b'\\"', b"")
        marks = marks.translate(None, _NOT_MARKS)  # with bytes.* calls only: this runs on every piece
        if self.in_string:
            close = marks.find(b'"')
            if close < 0:
                return None  # the string goes on past this piece
            marks = marks[close + 1:]
        parts = marks.split(b'"')
        if len(parts) > 1:
            marks = b"".join(parts[0::2])  # the brackets outside strings
        opens = marks.count(b"[") + marks.count(b"{")
        if self.depth + opens <= self.limit:
            depth = self.depth + opens - marks.count(b"]") - marks.count(b"}")
        else:  # a long piece, or a deep one: follow the depth bracket by bracket
            depth = self.depth
            for mark in marks:
                if mark == 91 or mark == 123:  # '[' '{'
                    depth += 1
                    if depth > self.limit:
                        return self._walk(piece)  # to find where, in the piece as written
                elif depth > 0:
                    depth -= 1
        self.depth = max(0, depth)
        self.in_string = len(parts) % 2 == 0  # an odd number of quotes: a string goes on
        return None

    def _walk(self, piece: bytes) -> int | None:
        """Token by token, for a piece that may go too deep."""
        start = 0
        if self.in_string:
            start = _STRING_REST.match(piece).end()
            self.in_string = False
        depth = self.depth
        for token in _TOKEN.finditer(piece, start):
            kind = piece[token.start()]
            if kind == 34:  # '"'
                if token.group(1) is None:
                    self.in_string = True
            elif kind in (91, 123):  # '[' '{'
                depth += 1
                if depth > self.limit:
                    self.depth = depth
                    return token.start()
            elif depth > 0:
                depth -= 1
        self.depth = depth
        return None
