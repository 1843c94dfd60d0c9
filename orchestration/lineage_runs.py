"""A Dagster run's own OpenLineage events, read from the Dagster instance.

Every asset's events name their Dagster run as parent; this module writes that parent's START
and its end (COMPLETE, FAIL, ABORT) into the outbox. Two callers, one function, because a run
can be launched two ways: `biotwin run` executes in-process, with no daemon, and records its run
when it ends; runs launched by the UI, a schedule or a sensor are recorded by the
`lineage_dagster_runs` sensor (which the daemon of `biotwin ui` ticks). Events are keyed by
(run, type, job) in the outbox, so a run recorded by both is stored once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from assets.resources import PlantPaths
from biotwin.settings import PROJECT_ROOT, settings
from lineage.code_version import code_version
from lineage.dagster_runs import DagsterRun, dagster_run_events
from lineage.outbox import Outbox


def _time(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def _failure_message(instance: DagsterInstance, run_id: str) -> str | None:
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.RUN_FAILURE, limit=1
    ).records
    return records[0].event_log_entry.message if records else None


def read_run(instance: DagsterInstance, run_id: str) -> DagsterRun | None:
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        return None
    status = record.dagster_run.status.value
    return DagsterRun(
        run_id=run_id,
        job=record.dagster_run.job_name,
        status=status,
        started_at=_time(record.start_time),
        ended_at=_time(record.end_time),
        error=_failure_message(instance, run_id) if status == "FAILURE" else None,
    )


def _due_events(instance: DagsterInstance, run_id: str) -> list[dict]:
    """The run's events that are due: START once started, the end once ended."""
    run = read_run(instance, run_id)
    if run is None:
        return []
    return dagster_run_events(
        run, settings().openlineage_namespace, code_version(), PROJECT_ROOT.as_uri()
    )


def record_changed_runs(
    instance: DagsterInstance, since: datetime | None, outbox_dir: Path
) -> tuple[int, int, datetime | None]:
    """Record every run updated after `since` (or every run): (events added, runs seen, the
    newest update among them: the next `since`)."""
    records = instance.get_run_records(
        filters=RunsFilter(updated_after=since) if since else None,
        limit=500,
        order_by="update_timestamp",
        ascending=True,
    )
    # one append for all of them: the outbox reads its stored keys once per append
    found = [e for r in records for e in _due_events(instance, r.dagster_run.run_id)]
    added = Outbox(outbox_dir).append(*found) if found else 0
    newest = max((r.update_timestamp for r in records), default=None)
    return added, len(records), newest


@sensor(
    name="lineage_dagster_runs",
    minimum_interval_seconds=30,
    # bookkeeping, not work: it only writes lineage events, so it runs from the start
    default_status=DefaultSensorStatus.RUNNING,
    description="Writes each Dagster run's own OpenLineage START and end event (the parent "
    "of its assets' events) for runs the UI, a schedule or a sensor launched.",
)
def lineage_dagster_runs(context: SensorEvaluationContext, paths: PlantPaths):
    # a second back: `updated_after` is strict, and a run seen twice adds nothing to the outbox
    since = datetime.fromtimestamp(float(context.cursor) - 1, UTC) if context.cursor else None
    added, seen, newest = record_changed_runs(context.instance, since, paths.lineage_path())
    if newest is not None:
        context.update_cursor(str(newest.timestamp()))
    return SkipReason(f"{added} lineage events from {seen} changed runs")
