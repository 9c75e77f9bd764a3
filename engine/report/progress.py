"""A byte-based progress bar for reading a large ticket file, on stderr."""
from __future__ import annotations

import sys


class ProgressBar:
    """A rich progress bar on stderr, only on a terminal and only for inputs of ``THRESHOLD`` bytes or more.

    Otherwise ``bar`` is None and every method does nothing, so callers need no
    test of their own.  Pass ``update`` as ``read_tickets(progress=...)``.
    """

    THRESHOLD = 4 * 1024 * 1024

    def __init__(self, total: int | None, label: str = "evaluating"):
        self.bar = None
        if total and total >= self.THRESHOLD and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
            # stderr only: stdout carries the JSON lines
            self.bar = Progress(label, BarColumn(), DownloadColumn(), TimeRemainingColumn(), transient=True,
                                console=Console(file=sys.stderr, force_terminal=True))
            self.task = self.bar.add_task("evaluate", total=total)

    def __enter__(self) -> "ProgressBar":
        if self.bar:
            self.bar.start()
        return self

    def update(self, done: int) -> None:
        if self.bar:
            self.bar.update(self.task, completed=done)

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.stop()
