"""What the CLI prints while long work runs: plain stamped lines, or live bars on a terminal.

`biotwin run` (through the Dagster progress logger, orchestration/progress.py) and `biotwin
generate` report the same four things: a step begins, it reports progress, it ends, and other
lines. Not on a terminal (CI, a log file, a pipe) every one is a line, stamped and flushed at
once, so a log reads the same afterwards. On a terminal the begin and end lines are printed
the same way, and a step's `N/M` progress draws a live bar (rich) instead of a line every few
seconds. `BIOTWIN_PROGRESS=plain` keeps lines on a terminal too.
"""

from __future__ import annotations

import os
import re
import sys
import time
from typing import TextIO

COUNT = re.compile(r"(\d[\d,]*)/(\d[\d,]*)")


def counted(text: str) -> tuple[int, int] | None:
    """The first `done/total` in a progress text (`12/132 files, …` -> (12, 132))."""
    found = COUNT.search(text)
    if not found:
        return None
    done, total = (int(g.replace(",", "")) for g in found.groups())
    return (done, total) if total > 0 else None


def _stamp(text: str) -> str:
    return f"{time.strftime('%H:%M:%S')} {text}"


class PlainConsole:
    """Every report is a stamped line, flushed."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout  # at call time: pytest and the CLI swap sys.stdout

    def line(self, text: str) -> None:
        self.stream.write(_stamp(text) + "\n")
        self.stream.flush()

    def begin(self, step: str, text: str) -> None:
        self.line(text)

    def progress(self, step: str, text: str) -> None:
        self.line(f"  {step}: {text}")

    def end(self, step: str, text: str) -> None:
        self.line(text)

    def close(self) -> None:
        """Nothing is live."""


class LiveConsole(PlainConsole):
    """Lines above, a bar per running step below (rich.progress), redrawn in place."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(file=self.stream, force_terminal=True, highlight=False)
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.tasks: dict[str, int] = {}

    def line(self, text: str) -> None:
        self.console.print(_stamp(text), markup=False)

    def begin(self, step: str, text: str) -> None:
        self.line(text)
        if not self.tasks:
            self.bars.start()
        self.tasks[step] = self.bars.add_task(step, total=None)

    def progress(self, step: str, text: str) -> None:
        counts = counted(text)
        if counts is None or step not in self.tasks:
            super().progress(step, text)  # a progress text without a count stays a line
            return
        done, total = counts
        self.bars.update(
            self.tasks[step], completed=done, total=total, description=f"{step}: {text}"
        )

    def end(self, step: str, text: str) -> None:
        task = self.tasks.pop(step, None)
        if task is not None:
            self.bars.remove_task(task)
        if not self.tasks:
            self.bars.stop()
        self.line(text)

    def close(self) -> None:
        self.tasks.clear()
        self.bars.stop()


def console_for(stream: TextIO | None = None) -> PlainConsole:
    """Live bars on a terminal, plain lines anywhere else or when asked for."""
    target = stream or sys.stdout
    live = (
        getattr(target, "isatty", lambda: False)()
        and os.environ.get("BIOTWIN_PROGRESS", "") != "plain"
        and os.environ.get("TERM", "") != "dumb"
    )
    return LiveConsole(stream) if live else PlainConsole(stream)
