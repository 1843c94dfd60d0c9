"""The published state (group `published`): after the marts and the twin, the warehouse is
published for readers (biotwin/publication.py: a read-only copy, swapped in atomically, the
newest N kept), and the publication is written to the audit log with its file's sha256. With
BIOTWIN_POSTGRES_WRITER_URL set, its marts and twin tables are also served from PostgreSQL
(biotwin/postgres.py).

It depends on every dbt model and twin asset, so that every run which changes what readers see
ends with a publication (a landing sensor's run selects it as a downstream asset), and a run
whose build or twin failed publishes nothing: readers keep the last good state.
"""

# No `from __future__ import annotations` here: Dagster reads the context type hint at runtime.

from collections.abc import Sequence

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.catalog import OWNERS
from assets.resources import PlantPaths
from biotwin.postgres import NotServed, serve, writer_url
from biotwin.publication import publish
from biotwin.settings import settings
from biotwin.warehouse import connect
from lineage.audit_log import audit_run
from lineage.code_version import code_version

PUBLISHED_KEY = AssetKey(["published", "state"])


def published_state_asset(upstream: Sequence[AssetKey]) -> AssetsDefinition:
    """The publication asset, downstream of `upstream` (every model and twin asset)."""

    @asset(
        key=PUBLISHED_KEY,
        deps=list(upstream),
        group_name="published",
        pool="warehouse",  # nothing writes the warehouse while it is copied
        owners=OWNERS,
        kinds={"python", "duckdb"},
        description="The warehouse as readers see it: a read-only copy made after every "
        "successful run and swapped in atomically (biotwin query, trace, twin report and any "
        "DuckDB client read it, never the file a run writes). The newest "
        "BIOTWIN_PUBLICATIONS_KEPT are kept for `--as-of` (docs/queries.md).",
    )
    def published_state(context: AssetExecutionContext, paths: PlantPaths) -> MaterializeResult:
        run_id = context.run.run_id
        con = connect(paths.warehouse_path())
        try:
            made = publish(
                con,
                paths.warehouse_path(),
                paths.published_path(),
                run_id,
                code_version(),
                keep=settings().publications_kept,
            )
            audit_run(
                con,
                "published/state",
                run_id,
                {
                    "publication": made.seq,
                    "file": made.file,
                    "sha256": made.sha256,
                    "bytes": made.bytes,
                    "tables": made.tables,
                },
            )
        finally:
            con.close()
        context.log.info(
            f"published {made.file} ({made.bytes / 1e6:,.1f} MB, sha256 {made.sha256[:12]}…)"
        )
        metadata = {
            "publication": made.seq,
            "file": MetadataValue.path(str(made.path(paths.published_path()))),
            "sha256": made.sha256,
            "bytes": made.bytes,
            "tables": MetadataValue.json(made.tables),
            "served on PostgreSQL": False,
        }
        url = writer_url()
        if url:  # the same state, served to any SQL client (docs/scale-out.md)
            try:
                served = serve(made.path(paths.published_path()), made, url)
            except NotServed as exc:
                raise Failure(
                    description=f"published {made.file} for DuckDB readers, but not served on "
                    f"PostgreSQL (its readers keep the previous state): {exc}",
                    metadata=metadata,
                ) from None
            metadata["served on PostgreSQL"] = True
            context.log.info(f"served on PostgreSQL: {len(served.tables)} tables")
        return MaterializeResult(metadata=metadata)

    return published_state
