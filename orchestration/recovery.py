"""Crash recovery for `biotwin run`: a killed run never wedges the next one.

A run executed in-process by the CLI carries the pid and start time of its process (run tags
`biotwin/pid`, `biotwin/pid_start`). When that process is gone (SIGKILL, out of memory, a
power cut), Dagster still shows the run STARTED and its step still holds the `warehouse` pool
slot, so the next run would wait forever. Before every run the CLI therefore:
1. marks each such run failed, with the reason, and frees its pool slots;
2. stops a `dbt build` on this warehouse that outlived its parent (an orphan still writing).
Runs without the tags (launched by `dagster dev`) are the daemon's to monitor and are left alone.
The data needs nothing: every file and every dbt model is its own transaction (docs/gmp.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

PID_TAG = "biotwin/pid"
PID_START_TAG = "biotwin/pid_start"
DBT_PROGRAMS = ("dbt", "biotwin-dbt")  # dbt and its launcher (orchestration/dbt_launcher.py)
LIVE_STATUSES = ("STARTED", "STARTING", "NOT_STARTED", "QUEUED", "CANCELING")


def process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), or None if there is no such
    process: with the pid, it tells a live run from a new process that reused the pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # fields after the command name, which is in parentheses and may hold spaces
    return stat.rsplit(")", 1)[1].split()[19]


def run_tags() -> dict[str, str]:
    """Tags that let a later run tell whether this process is still alive."""
    pid = os.getpid()
    return {PID_TAG: str(pid), PID_START_TAG: process_start(pid) or ""}


def owner_alive(tags: dict[str, str]) -> bool:
    pid = tags.get(PID_TAG, "")
    if not pid.isdigit():
        return True  # not a CLI run: not ours to judge
    started = process_start(int(pid))
    return started is not None and started == tags.get(PID_START_TAG, started)


@dataclass(frozen=True)
class Recovered:
    run_id: str
    pid: str
    slots_freed: bool


def recover_dead_runs(instance) -> list[Recovered]:
    """Mark failed every CLI run whose process is gone and free its pool slots."""
    from dagster import DagsterRunStatus, RunsFilter

    statuses = [DagsterRunStatus[s] for s in LIVE_STATUSES]
    out = []
    for run in instance.get_runs(RunsFilter(statuses=statuses)):
        if PID_TAG not in run.tags or owner_alive(run.tags):
            continue
        instance.report_run_failed(
            run,
            f"the process that ran it (pid {run.tags[PID_TAG]}) is gone (killed or crashed); "
            "marked failed by the next biotwin run",
        )
        freed = True
        try:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        except NotImplementedError:
            freed = False
        out.append(Recovered(run.run_id, run.tags[PID_TAG], freed))
    return out


def orphaned_dbt(warehouse: Path) -> list[int]:
    """Pids of `dbt` processes building this warehouse whose parent is gone (re-parented to
    init or a subreaper): left behind by a killed run, possibly still writing."""
    needle = f'"biotwin_warehouse": "{warehouse}"'
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if not _is_dbt(argv) or needle not in " ".join(argv):
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if not _launched_by_python(parent):
            out.append(int(entry.name))
    return sorted(out)


def _is_dbt(argv: list[str]) -> bool:
    """Whether the process is dbt itself (`dbt …`, or `python …/dbt …` as a console script
    runs), not a shell or an editor whose command line merely mentions it."""
    names = [Path(a).name for a in argv[:2]]
    if names and names[0] in DBT_PROGRAMS:
        return True
    return len(names) == 2 and names[0].startswith("python") and names[1] in DBT_PROGRAMS


def _launched_by_python(pid: int) -> bool:
    """Whether `pid` is a live Python process: dbt is started by the Python process of a run
    (the CLI, `dagster dev`, a notebook, a test), and re-parented to init or a subreaper (not
    Python) when that process dies."""
    if pid == 1:
        return False
    try:
        exe = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return False
    return "python" in Path(exe).name


def stop(pids: list[int], grace_s: float = 2.0) -> None:
    """SIGTERM, then SIGKILL what is left after `grace_s`."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(process_start(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if process_start(pid) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def recover(instance, warehouse: Path) -> list[str]:
    """Both steps; one line per thing done (what the CLI prints)."""
    lines = [
        f"recovered: run {r.run_id} (pid {r.pid} is gone) marked failed"
        + (", its warehouse pool slot freed" if r.slots_freed else "")
        for r in recover_dead_runs(instance)
    ]
    orphans = orphaned_dbt(warehouse)
    if orphans:
        stop(orphans)
        lines.append(
            f"recovered: stopped {len(orphans)} dbt process(es) left by a killed run "
            f"(pid {', '.join(map(str, orphans))})"
        )
    return lines


def pool_holders(instance, pool: str = "warehouse") -> list[str]:
    """Who holds the pool's slots now, one line each (run id, step, pid): what a run that
    will wait for the pool says before it waits."""
    try:
        info = instance.event_log_storage.get_concurrency_info(pool)
    except NotImplementedError:  # a storage without pools: nobody to name
        return []
    lines = []
    for slot in info.claimed_slots:
        run = instance.get_run_by_id(slot.run_id)
        pid = (run.tags.get(PID_TAG) if run else None) or "?"
        lines.append(
            f"waiting: the {pool} pool is held by run {slot.run_id} (step {slot.step_key}, "
            f"pid {pid}); this run starts its steps when that one ends"
        )
    return lines
