"""Release readiness (group `release`): after the marts and the twin, every batch's exceptions
(`marts.batch_exceptions`) and its readiness verdict (`marts.batch_release_readiness`),
computed by `release/` in one transaction and recorded in the audit log.

Two checks, both warnings (a verdict is a rule about values, never a reason to stop a run):
`batches_blocked` fails while any finished batch is blocked, `batches_ready` reports how many
batches are ready for QA's review. The rows of each verdict are the checks' metadata.
"""

# No `from __future__ import annotations` here: Dagster reads the context type hint at runtime.

from collections.abc import Sequence

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.catalog import OWNERS
from assets.resources import PlantPaths
from biotwin.warehouse import connect, rows_of
from lineage.audit_log import audit_run
from release.exceptions import build_exceptions
from release.readiness import TABLE as READINESS
from release.readiness import build_readiness

READINESS_KEY = AssetKey(["marts", "batch_release_readiness"])


def _rows(con, where: str) -> list[dict]:
    found = rows_of(
        con,
        f"SELECT batch_id, verdict, reasons FROM {READINESS} WHERE {where} ORDER BY batch_id",  # noqa: S608 - constants
    )
    return [{"batch_id": b, "verdict": v, "reasons": r} for b, v, r in found]


def _warning(name: str, passed: bool, summary: str, rows: list[dict], checked: int):
    """A check result that warns, never blocks, with its batches as metadata."""
    return AssetCheckResult(
        check_name=name,
        passed=passed,
        severity=AssetCheckSeverity.WARN,
        description=summary,
        metadata={"batches": len(rows), "checked": checked, "rows": MetadataValue.json(rows)},
    )


def release_readiness_asset(upstream: Sequence[AssetKey]) -> AssetsDefinition:
    """The readiness asset, downstream of `upstream` (every model and twin asset)."""

    @asset(
        key=READINESS_KEY,
        deps=list(upstream),
        group_name="release",
        pool="warehouse",
        owners=OWNERS,
        kinds={"python", "duckdb"},
        check_specs=[
            AssetCheckSpec(
                "batches_blocked",
                asset=READINESS_KEY,
                description="No finished batch is blocked for release review (a missing "
                "required signature or approved CQA result, a CQA out of specification, a "
                "broken chain of identity, a critical exception). Warns, never blocks.",
            ),
            AssetCheckSpec(
                "batches_ready",
                asset=READINESS_KEY,
                description="How many batches are ready for QA's release review (nothing but "
                "minor exceptions). Warns when no finished batch is.",
            ),
        ],
        description="Per batch: every exception from the five systems and the twin "
        "(marts.batch_exceptions, each with the keys `biotwin trace` follows), the CQAs with "
        "an approved result, the required signatures present, the chain of identity, and a "
        "verdict (ready, review, blocked) with reasons. `biotwin release dossier --batch B` "
        "writes a batch's dossier (docs/gmp.md).",
    )
    def release_readiness(context: AssetExecutionContext, paths: PlantPaths) -> MaterializeResult:
        con = connect(paths.warehouse_path())
        try:
            con.execute("BEGIN TRANSACTION")
            exceptions = build_exceptions(con)
            verdicts = build_readiness(con)
            con.execute("COMMIT")
            blocked = _rows(con, "verdict = 'blocked' AND NOT is_in_progress")
            ready = _rows(con, "verdict = 'ready'")
            finished = rows_of(con, f"SELECT count(*) FROM {READINESS} WHERE NOT is_in_progress")  # noqa: S608
            audit_run(
                con,
                "marts/batch_release_readiness",
                context.run.run_id,
                {"exceptions": exceptions, **verdicts},
            )
        finally:
            con.close()
        context.log.info(
            f"{exceptions} exceptions; batches ready {verdicts['ready']}, review "
            f"{verdicts['review']}, blocked {verdicts['blocked']}"
        )
        n_finished = int(finished[0][0])
        return MaterializeResult(
            metadata={
                "exceptions": exceptions,
                **{f"batches/{v}": n for v, n in verdicts.items()},
                "dossier": MetadataValue.md(
                    "`biotwin release dossier --batch <batch_id> --out <folder>`"
                ),
            },
            check_results=[
                _warning(
                    "batches_blocked",
                    not blocked,
                    f"{len(blocked)} of {n_finished} finished batches blocked",
                    blocked,
                    n_finished,
                ),
                _warning(
                    "batches_ready",
                    n_finished == 0 or bool(ready),
                    f"{len(ready)} batches ready for release review",
                    ready,
                    n_finished,
                ),
            ],
        )

    return release_readiness
