"""Tables: plain columns for pipes and files, a rich table for a terminal."""
from __future__ import annotations

import sys
from typing import Sequence, TextIO


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns left-aligned, two spaces apart, trailing blanks stripped; the header is the first line."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [headers, *rows])


def rich_table(headers: Sequence[str], rows: Sequence[Sequence[str]]):
    """A ``rich.table.Table`` of the same cells, for ``rich.console.Console().print``."""
    from rich.table import Table
    from rich.text import Text
    table = Table(*headers)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # Text: a "[" in a name is not markup
    return table


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], tty: bool,
                stream: TextIO | None = None) -> None:
    """A rich table on a terminal (``tty``); plain columns aligned with two spaces otherwise (pipes, tests)."""
    stream = stream if stream is not None else sys.stdout
    if tty:
        from rich.console import Console
        Console(file=stream).print(rich_table(headers, rows))
    else:
        stream.write(plain_table(headers, rows) + "\n")
