"""Landing-zone ingestion assets (Dagster edge): one per source system, plus reference data.

The work is done by `assets.ingest` (plain functions); these assets open the warehouse, call it,
and report: the file ledger per status as metadata, and two checks — the structural contract
(blocking: rows lost or unaccounted for stop downstream; quarantined rows are a warning) and
plausibility (never blocking).
"""
# No `from __future__ import annotations` here: Dagster reads the context type hint at runtime.

from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.catalog import INGESTION_KINDS, OWNERS, REFERENCE_KINDS
from assets.ingest.core import SystemSummary
from assets.ingest.reference import load_reference
from assets.ingest.run import LOADERS, LandingMissing, check_landing, ingest
from assets.lineage_datasets import ingestion_datasets, reference_datasets
from assets.plausibility import plausibility
from assets.progress import Throttled
from assets.resources import PlantPaths
from biotwin.warehouse import connect
from lineage.asset_run import LineageRun, openlineage_run
from lineage.audit_log import audit_new_ledger_rows, audit_run

WAREHOUSE_POOL = "warehouse"  # DuckDB: one writer at a time
REFERENCE_KEY = AssetKey(["ref", "reference_data"])


@asset(
    key=REFERENCE_KEY,
    group_name="reference",
    pool=WAREHOUSE_POOL,
    owners=OWNERS,
    kinds=REFERENCE_KINDS,
    description="Reference CSVs (sites, parameters, units, tags, …) loaded into ref.* under "
    "contracts; a row that breaks its contract stops the load and names file, row and rule.",
)
def reference_data(context: AssetExecutionContext, paths: PlantPaths) -> MaterializeResult:
    warehouse = paths.warehouse_path()
    with _lineage(context, paths, REFERENCE_KEY) as lineage:
        con = connect(warehouse)
        try:
            counts = load_reference(
                con,
                paths.reference_path(),
                actor=f"biotwin reference load, dagster run {context.run.run_id}",
            )
            lineage.inputs, lineage.outputs = reference_datasets(con, paths.reference_path())
        finally:
            con.close()
    return MaterializeResult(
        metadata={f"rows/{k}": v for k, v in counts.items()}
        | {"reference_dir": str(paths.reference_path())}
    )


def _ledger_table(summary: SystemSummary) -> str:
    lines = ["| status | files |", "| --- | --- |"]
    lines += [f"| {status} | {n} |" for status, n in sorted(summary.by_status.items())]
    return "\n".join(lines)


def _lineage(context: AssetExecutionContext, paths: PlantPaths, key: AssetKey):
    """START/COMPLETE/FAIL events of this asset run into the outbox."""
    return openlineage_run(
        paths.lineage_path(),
        context.run.run_id,
        context.run.job_name,
        key.to_user_string(),
        "assets/landing.py",
    )


def _ingest_and_record(
    context: AssetExecutionContext, paths: PlantPaths, system: str, lineage: LineageRun
) -> tuple[SystemSummary, dict, int]:
    """Load new files, flag implausible rows, audit every file and the run, and tell the
    lineage run which files were read and which tables written."""
    run_id = context.run.run_id
    warehouse = paths.warehouse_path()
    con = connect(warehouse)
    try:
        say = Throttled(context.log.info)

        def on_file(done: SystemSummary, total: int) -> None:
            say(f"{done.files_seen}/{total} files, {done.rows_loaded:,} rows loaded")

        summary = ingest(
            con, system, paths.landing_path(), paths.reference_path(), run_id, on_file=on_file
        )
        say(
            f"{summary.files_seen} files, {summary.rows_loaded:,} rows loaded, "
            f"{summary.rows_quarantined:,} quarantined",
            last=True,
        )
        flags = plausibility(con, system, run_id)
        audited = audit_new_ledger_rows(
            con, system, actor=f"biotwin ingestion, dagster run {run_id}"
        )
        audited += audit_run(
            con,
            f"raw/{system}",
            run_id,
            {
                "files_seen": summary.files_seen,
                "rows_loaded": summary.rows_loaded,
                "rows_quarantined": summary.rows_quarantined,
            },
        )
        lineage.inputs, lineage.outputs = ingestion_datasets(
            con,
            system,
            run_id,
            paths.landing_path(),
            LOADERS[system].contract,
            summary.checks_run,
        )
    finally:
        con.close()
    return summary, flags, audited


def _ingestion_asset(system: str):
    key = AssetKey(["raw", system])

    @asset(
        key=key,
        group_name="landing",
        pool=WAREHOUSE_POOL,
        owners=OWNERS,
        kinds=INGESTION_KINDS,
        deps=[REFERENCE_KEY],
        description=f"New {system} files from the landing zone into raw.* with provenance; "
        "every file recorded in raw.file_ledger, bad rows in raw.quarantine.",
        check_specs=[
            AssetCheckSpec(
                "structural_contract",
                asset=key,
                blocking=True,
                description="every row read is loaded or quarantined with a reason",
            ),
            AssetCheckSpec(
                "plausibility", asset=key, description="rows kept but flagged for dq_issues"
            ),
        ],
    )
    def _asset(context: AssetExecutionContext, paths: PlantPaths) -> Iterator:
        try:
            check_landing(paths.landing_path(), system)
        except LandingMissing as exc:
            raise Failure(description=str(exc)) from None
        with _lineage(context, paths, key) as lineage:
            summary, flags, audited = _ingest_and_record(context, paths, system, lineage)
        contract = LOADERS[system].contract
        yield MaterializeResult(
            metadata={
                "files_seen": summary.files_seen,
                "rows_read": summary.rows_read,
                "rows_loaded": summary.rows_loaded,
                "rows_quarantined": summary.rows_quarantined,
                # still being written: held back, unrecorded, for a later run
                "files_still_arriving": len(summary.arriving),
                "ledger": MetadataValue.md(_ledger_table(summary)),
                "contract": contract.label,
                "audit_entries": audited,
            }
        )
        balanced = summary.rows_read == summary.rows_loaded + summary.rows_quarantined
        yield AssetCheckResult(
            check_name="structural_contract",
            passed=balanced and summary.rows_quarantined == 0,
            # quarantine is a warning a person acts on; unbalanced counts would mean lost rows
            severity=AssetCheckSeverity.ERROR if not balanced else AssetCheckSeverity.WARN,
            metadata={
                "failures": summary.rows_quarantined,
                "rows_read": summary.rows_read,
                "rows_loaded": summary.rows_loaded,
                "samples": MetadataValue.json(summary.quarantine_samples),
            },
        )
        flagged = sum(v["count"] for v in flags.values())
        yield AssetCheckResult(
            check_name="plausibility",
            passed=flagged == 0,
            severity=AssetCheckSeverity.WARN,
            metadata={"flagged": flagged, "rules": MetadataValue.json(flags)},
        )

    return _asset


INGESTION_ASSETS = [_ingestion_asset(system) for system in LOADERS]

# Tables every ingestion asset writes beside its raw tables: in the catalog as assets of their
# own (dbt's dq_issues and the file lineage read them), derived from the assets that write them.
BOOKKEEPING_SPECS = [
    AssetSpec(
        AssetKey(["raw", table]),
        description=description,
        group_name="landing",
        owners=OWNERS,
        kinds={"duckdb"},
        deps=[a.key for a in INGESTION_ASSETS],
    )
    for table, description in (
        (
            "file_ledger",
            "raw.file_ledger: one row per landing file seen by any ingestion asset (sha256, path, "
            "status, reason, rows read / loaded / quarantined, contract, run), written in the "
            "file's own load transaction (docs/ingestion.md).",
        ),
        (
            "quarantine",
            "raw.quarantine: every row or file a contract refused, with the file, the row, the "
            "rule and the reason; nothing refused is lost (docs/ingestion.md).",
        ),
    )
]
