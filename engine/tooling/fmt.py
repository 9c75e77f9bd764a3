"""``triage fmt``: one layout for policy YAML, comments kept.

The house layout: 2-space mappings, sequences indented 4 with the dash at 2
(``- item`` under its key, as in the shipped files), quotes and flow style
kept as written, long lines never re-wrapped, no trailing whitespace, one
final newline.  Formatting never changes meaning: the result is read back
and compared with the original documents, and a file whose meaning would
change is refused.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError as RuamelError

from .editing import write_files
from ..core.errors import Problem
from ..policy.loader import display_path, policy_files
from ..policy.yaml_docs import YamlError, decode
from ..policy.yaml_reader import iter_documents

WIDTH = 4096  # never re-wrap: long lines stay as written


@dataclass(frozen=True)
class FormatResult:
    file: str
    changed: bool
    formatted: str | None = None
    problem: Problem | None = None


def _yaml() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = WIDTH
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _data(text: str, file: str) -> list:
    return [doc.data for doc in iter_documents(text, file)]


def format_text(text: str, file: str = "<text>") -> str:
    """``text`` in the house layout.  ``YamlError`` if it is not a readable policy file."""
    original = _data(decode(text.encode("utf-8"), file), file)
    rt = _yaml()
    try:
        documents = list(rt.load_all(text))
        out = io.StringIO()
        rt.dump_all(documents, out)
    except RuamelError as exc:  # pragma: no cover - our own reader refused it first
        raise YamlError(Problem(f"cannot format: {exc}", file=file, line=1, col=1)) from None
    formatted = "\n".join(line.rstrip() for line in out.getvalue().splitlines()).rstrip("\n") + "\n"
    if _data(formatted, file) != original:
        raise YamlError(Problem("formatting would change the meaning of this file; left as it is",
                                file=file, line=1, col=1))
    return formatted


def format_policies(path: str | Path, write: bool = False) -> list[FormatResult]:
    """Format every policy file under ``path``; with ``write``, replace changed files atomically."""
    results = []
    for file in policy_files(Path(path)):
        shown = display_path(file)
        raw = file.read_bytes()
        try:
            text = raw.decode("utf-8")
            formatted = format_text(text, shown)
        except UnicodeDecodeError:
            results.append(FormatResult(shown, False, problem=Problem("not UTF-8", file=shown, line=1, col=1)))
            continue
        except YamlError as exc:
            results.append(FormatResult(shown, False, problem=exc.problem))
            continue
        changed = formatted != text
        if changed and write:
            write_files([(file, formatted.encode("utf-8"), raw)])
        results.append(FormatResult(shown, changed, formatted))
    return results
