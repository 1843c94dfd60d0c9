"""Jobs and schedules: the whole pipeline, and the nightly rebuild and audit verification.

Schedules start stopped (like the sensors): a site turns them on in the UI once it trusts them.
"""

import os

from dagster import (
    AssetSelection,
    Config,
    DefaultScheduleStatus,
    Failure,
    OpExecutionContext,
    ScheduleDefinition,
    define_asset_job,
    job,
    op,
)

from assets.resources import PlantPaths
from biotwin.settings import settings
from biotwin.warehouse import connect
from lineage.audit_log import verify_log
from lineage.backend import lineage_endpoint
from lineage.outbox import Outbox, ShipperBusy, ship

main_job = define_asset_job(
    "main", selection=AssetSelection.all(), description="Everything, in dependency order."
)


@op(description="Walk the hash chain of audit.audit_log; fail naming the first broken entry.")
def verify_audit_chain(context: OpExecutionContext, paths: PlantPaths) -> None:
    con = connect(paths.warehouse_path(), read_only=True)
    try:
        verdict = verify_log(con)
    finally:
        con.close()
    if not verdict.ok:
        raise Failure(description=verdict.message())
    context.log.info(verdict.message())


@job(description="Verify the audit trail (read-only).")
def audit_verify():
    verify_audit_chain()


class ShipConfig(Config):
    """Attempts per event, and the first back-off (doubled after each failed attempt)."""

    retries: int = 5
    backoff_s: float = 0.5


@op(description="Deliver pending OpenLineage events to the configured backend, if any.")
def ship_lineage_events(context: OpExecutionContext, paths: PlantPaths, config: ShipConfig) -> None:
    endpoint = lineage_endpoint(os.environ, settings().home)
    outbox = Outbox(paths.lineage_path())
    if not endpoint:
        context.log.info(f"no lineage backend configured; {len(outbox.pending())} events kept")
        return
    try:
        result = ship(outbox, endpoint, retries=config.retries, backoff_s=config.backoff_s)
    except ShipperBusy as exc:  # the other shipper delivers them
        context.log.info(f"{exc}: nothing sent by this run")
        return
    if result.pending:  # the backend is down: everything stays in the outbox for the next try
        raise Failure(description=f"{endpoint}: {result.summary()}")
    context.log.info(result.summary())


@job(description="Ship the lineage outbox (OPENLINEAGE_URL or openlineage.yml).")
def lineage_ship():
    ship_lineage_events()


def _utc_schedule(name: str, job_def, cron: str, description: str) -> ScheduleDefinition:
    """A UTC schedule that starts stopped."""
    return ScheduleDefinition(
        name=name,
        job=job_def,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.STOPPED,
        description=description,
    )


SCHEDULES = [
    _utc_schedule(
        "nightly_rebuild",
        main_job,
        "0 2 * * *",
        "Ingest anything the sensors missed and rebuild the conformed tables.",
    ),
    _utc_schedule(
        "nightly_audit_verify",
        audit_verify,
        "30 3 * * *",
        "Verify the audit trail's hash chain every night.",
    ),
    _utc_schedule(
        "lineage_ship_every_15_min",
        lineage_ship,
        "*/15 * * * *",
        "Deliver pending OpenLineage events; a backend that is down loses nothing.",
    ),
]
JOBS = [main_job, audit_verify, lineage_ship]
