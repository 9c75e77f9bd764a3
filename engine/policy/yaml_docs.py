"""What reading a policy file gives, without the YAML parser: :class:`Document` (data with node
positions), :class:`YamlError`, and :func:`decode` (strict UTF-8, no tab indentation).  The parser
itself is :mod:`engine.policy.yaml_reader`, imported only when a file must be parsed (importing
PyYAML takes about a quarter of a command's start-up): :mod:`engine.policy.parsed` remembers what
it gave for a file's text."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.errors import Problem

MAX_FILE_BYTES = 8 * 1024 * 1024
KEY_MARK = "<key>"


class YamlError(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


@dataclass
class Document:
    """One YAML document: its data and a path → (line, col) map."""

    data: Any
    file: str
    index: int
    line: int
    positions: dict = field(default_factory=dict)
    # values that YAML 1.1 resolved to booleans from yes/no/on/off: path → source text
    implicit_bools: dict = field(default_factory=dict)

    def locate(self, path: tuple, key: bool = False) -> tuple[int, int]:
        """Best position for ``path``: the node itself, else its nearest ancestor."""
        path = tuple(path)
        if key and (KEY_MARK,) + path in self.positions:
            return self.positions[(KEY_MARK,) + path]
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), (self.line, 1))


def problem_at(message: str, file: str, mark: Any, suggestion: str | None = None) -> Problem:
    """A Problem at a YAML mark (0-based line and column; None: no position)."""
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    return Problem(message, file=file, line=line, col=col, suggestion=suggestion)


def decode(raw: bytes, file: str) -> str:
    """Strict UTF-8 (a BOM is allowed); refuse bad bytes with their line and column."""
    if len(raw) > MAX_FILE_BYTES:
        raise YamlError(Problem(
            f"file is {len(raw):,} bytes; policy files are limited to {MAX_FILE_BYTES:,} bytes",
            file=file, line=1, col=1))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise YamlError(Problem(
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
            file=file, line=line, col=col)) from None
    for lineno, text_line in enumerate(text.splitlines(), 1):
        stripped = text_line.lstrip(" ")
        if stripped.startswith("\t"):
            col = len(text_line) - len(stripped) + 1
            raise YamlError(Problem(
                "tab character in indentation; YAML indentation must use spaces",
                file=file, line=lineno, col=col))
    return text
