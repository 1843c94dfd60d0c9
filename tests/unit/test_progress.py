"""What `biotwin run` prints while it works: step lines, assets' progress, who holds the pool."""

from __future__ import annotations

import io
from pathlib import Path

from dagster import DagsterInstance

from assets.progress import Throttled
from orchestration.progress import ProgressHandler, step_name
from orchestration.recovery import pool_holders


def test_step_keys_read_as_the_asset_keys_a_user_selects() -> None:
    assert step_name("raw__historian") == "raw/historian" and step_name(None) == "run"


def test_a_progress_line_is_printed_only_for_progress_messages() -> None:
    handler = ProgressHandler(io.StringIO())
    meta = {"step_key": "raw__lims", "dagster_event": None}
    assert (
        handler.line({**meta, "orig_message": "progress: 3/10 files"}) == "  raw/lims: 3/10 files"
    )
    assert handler.line({**meta, "orig_message": "a debug line"}) is None


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
