"""Progress of a run on the console, a line per step as it starts and as it ends.

`biotwin run` executes the job in-process; Dagster's console logger would print either
everything (debug) or nothing until the end (warnings). This logger prints what a person
watching a long run needs: each step starting, the progress lines the assets log while they
work (`progress:` messages, e.g. files done of total), a step waiting for the warehouse pool
and for which run, and each step ending with its time: plain lines in a CI log or a pipe, live
bars on a terminal (orchestration/console.py).
"""

from __future__ import annotations

import logging
import time
from typing import TextIO

from dagster import DagsterEventType, logger

from assets.progress import PREFIX as PROGRESS_PREFIX
from orchestration.console import console_for


def step_name(step_key: str | None) -> str:
    """`raw__historian` -> `raw/historian` (the asset key a user selects with --select)."""
    return (step_key or "run").replace("__", "/")


Report = tuple[str, str, str]  # (begin | progress | end | line, step, text)
RUN_ENDS = (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE)


class ProgressHandler(logging.Handler):
    """Turns Dagster's structured log records into reports on the console (orchestration/
    console.py: plain lines, or live bars on a terminal)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.console = console_for(stream)
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None)
        if not meta:
            return
        event = meta.get("dagster_event")
        if event is not None and event.event_type in RUN_ENDS:
            self.console.close()
            return
        found = self.report(meta)
        if found is None:
            return
        kind, step, text = found
        if kind == "line":
            self.console.line(text)
        else:
            getattr(self.console, kind)(step, text)

    def report(self, meta: dict) -> Report | None:
        step = step_name(meta.get("step_key"))
        event = meta.get("dagster_event")
        if event is None:
            message = str(meta.get("orig_message") or "")
            if message.startswith(PROGRESS_PREFIX):
                return ("progress", step, message[len(PROGRESS_PREFIX) :])
            return None
        kind = event.event_type
        if kind == DagsterEventType.STEP_START:
            self.started[step] = time.monotonic()
            return ("begin", step, f"▶ {step} started")
        if kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            took = time.monotonic() - self.started.pop(step, time.monotonic())
            verb = "done" if kind == DagsterEventType.STEP_SUCCESS else "FAILED"
            return ("end", step, f"■ {step} {verb} in {took:.1f} s")
        if kind == DagsterEventType.ENGINE_EVENT and "pool" in str(meta.get("orig_message")):
            return ("line", step, f"… {step} waits: {meta.get('orig_message')}")
        return None


@logger(description="Progress lines for the console: steps starting and ending, assets' work.")
def progress_logger(init_context) -> logging.Logger:
    log = logging.getLogger("biotwin.progress")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    if not any(isinstance(h, ProgressHandler) for h in log.handlers):
        log.addHandler(ProgressHandler())
    return log
