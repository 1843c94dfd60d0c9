"""Jobs and schedules: the whole pipeline, and the nightly rebuild and audit verification.

Schedules start stopped (like the sensors): a site turns them on in the UI once it trusts them.
"""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Failure,
    OpExecutionContext,
    ScheduleDefinition,
    define_asset_job,
    job,
    op,
)

from assets.ingest.warehouse import connect
from lineage.audit_log import verify_log
from orchestration.resources import PlantPaths

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


nightly_rebuild = ScheduleDefinition(
    name="nightly_rebuild",
    job=main_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Ingest anything the sensors missed and rebuild the conformed tables.",
)

nightly_audit_verify = ScheduleDefinition(
    name="nightly_audit_verify",
    job=audit_verify,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Verify the audit trail's hash chain every night.",
)

JOBS = [main_job, audit_verify]
SCHEDULES = [nightly_rebuild, nightly_audit_verify]
