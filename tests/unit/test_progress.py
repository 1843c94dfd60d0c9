"""What `biotwin run` prints while it works: step lines, assets' progress, who holds the pool."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from types import SimpleNamespace

from dagster import DagsterEventType, DagsterInstance

from assets.progress import Throttled
from orchestration.console import counted
from orchestration.progress import ProgressHandler, step_name
from orchestration.recovery import pool_holders


def test_step_keys_read_as_the_asset_keys_a_user_selects() -> None:
    assert step_name("raw__historian") == "raw/historian" and step_name(None) == "run"


def test_a_progress_line_is_printed_only_for_progress_messages() -> None:
    out = io.StringIO()
    handler = ProgressHandler(out)
    meta = {"step_key": "raw__lims", "dagster_event": None}
    progress = {**meta, "orig_message": "progress: 3/10 files"}
    assert handler.report(progress) == ("progress", "raw/lims", "3/10 files")
    assert handler.report({**meta, "orig_message": "a debug line"}) is None
    handler.emit(_record(progress))
    assert out.getvalue().endswith(" raw/lims: 3/10 files\n"), "not a terminal: a line"


def _record(meta: dict) -> logging.LogRecord:
    record = logging.LogRecord("dagster", logging.INFO, "", 0, "", (), None)
    record.dagster_meta = meta
    return record


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_counted_step_draws_a_bar_and_its_ends_are_lines(monkeypatch) -> None:
    monkeypatch.delenv("BIOTWIN_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    screen = _Terminal()
    handler = ProgressHandler(screen)

    def event(kind: str) -> dict:  # what the handler reads of a Dagster event: its type
        return {"step_key": "raw__historian", "dagster_event": SimpleNamespace(event_type=kind)}

    handler.emit(_record(event(DagsterEventType.STEP_START)))
    for done in (0, 40, 80):
        handler.emit(
            _record(
                {
                    "step_key": "raw__historian",
                    "dagster_event": None,
                    "orig_message": f"progress: {done}/80 files, {done * 1000:,} rows loaded",
                }
            )
        )
        handler.console.bars.refresh()
    handler.emit(_record(event(DagsterEventType.STEP_SUCCESS)))
    drawn = screen.getvalue()
    assert "▶ raw/historian started" in drawn and "■ raw/historian done in" in drawn
    assert "━" in drawn and "40/80" in drawn, "a bar with its count"
    assert "  raw/historian: 40/80" not in drawn, "no progress line on a terminal"


def test_plain_lines_on_a_terminal_when_asked(monkeypatch) -> None:
    monkeypatch.setenv("BIOTWIN_PROGRESS", "plain")
    assert type(ProgressHandler(_Terminal()).console).__name__ == "PlainConsole"


def test_a_count_is_read_from_the_first_done_of_total() -> None:
    assert counted("12/132 files, 3,400 rows loaded") == (12, 132)
    assert counted("batches simulated: 1,000/2,400") == (1000, 2400)
    assert counted("132 files, 5 rows loaded") is None and counted("0/0 files") is None


def test_throttled_progress_says_the_first_and_the_last_and_little_between() -> None:
    said: list[str] = []
    say = Throttled(said.append, every_s=3600)
    for n in range(100):
        say(f"{n} files")
    say("100 files", last=True)
    assert said == ["progress: 0 files", "progress: 100 files"]


def test_a_run_that_will_wait_names_the_run_holding_the_pool(tmp_path: Path) -> None:
    instance = DagsterInstance.local_temp(str(tmp_path))
    instance.event_log_storage.set_concurrency_slots("warehouse", 1)
    assert pool_holders(instance) == []
    instance.event_log_storage.claim_concurrency_slot("warehouse", "run-1", "raw__historian")
    (line,) = pool_holders(instance)
    assert "held by run run-1 (step raw__historian" in line
