"""dbt glue: the dbt project as one `@dbt_assets` definition, run as the real dbt CLI.

The manifest is prepared explicitly (`prepare_manifest`, called by `make`, the CLI and the test
session), never parsed at import: this module only reads the prepared manifest.json.
dbt runs as a subprocess with `threads: 1` in the `warehouse` pool, the one DuckDB writer.
"""

import json
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    AssetSpec,
    Config,
    Output,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from assets.catalog import OWNERS
from assets.lake import export as export_lake
from assets.resources import PlantPaths
from biotwin.engines import attach_spark_marts, spark_missing
from biotwin.settings import PROJECT_ROOT
from biotwin.warehouse import connect, open_waiting, table_exists
from lineage.asset_run import LineageRun, openlineage_run
from lineage.audit_log import audit_run
from lineage.catalogue import read_catalogue
from lineage.code_version import code_version
from lineage.dbt_events import DbtRunContext, dbt_node_events
from lineage.naming import dagster_job_name, warehouse_namespace
from lineage.outbox import Outbox
from orchestration.dbt_cli import (
    DBT_DIR,
    MANIFEST,
    build_args,
    dbt_executable,
    finish_build_target,
    new_build_target,
)


class BiotwinTranslator(DagsterDbtTranslator):
    """Groups by layer, dbt tests described, owners. Asset keys are dagster-dbt's own: a
    model's is [schema, name] (every layer sets its schema in dbt_project.yml); a source's
    is the key its YAML names in `meta.dagster.asset_key` — the ingestion asset that writes
    the table, so several tables of one asset (MES writes six) share its key."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = dbt_resource_props.get("schema")
        return schema if schema in ("staging", "intermediate", "marts") else "dbt"

    def get_asset_check_spec(
        self,
        asset_spec: AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> AssetCheckSpec | None:
        """dbt's check with a sentence saying what it holds when the test has no description
        of its own (the UI showed "No description provided" for every one)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_test(manifest["nodes"][unique_id]))

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        """A model's `meta.dagster.owners` if it names any, else the project's (assets.catalog)."""
        return super().get_owners(dbt_resource_props) or OWNERS


def describe_test(node: Mapping[str, Any]) -> str:
    """A dbt generic test in a sentence: what it holds, on which column, and what a failure
    does (severity error blocks downstream models; warn is reported and never blocks)."""
    meta = node.get("test_metadata") or {}
    kwargs = meta.get("kwargs") or {}
    column = kwargs.get("column_name")
    what = {
        "unique": f"every {column} is unique",
        "not_null": f"every row has a {column}",
        "accepted_values": f"{column} is one of {kwargs.get('values')}",
        "relationships": f"every {column} exists in {kwargs.get('to')}.{kwargs.get('field')}",
        "unique_combination": f"the columns {kwargs.get('columns')} identify a row",
        "expression_is_true": f"every row satisfies {kwargs.get('expression')}",
    }.get(meta.get("name"), f"dbt test {node.get('name')}")
    severity = str(node.get("config", {}).get("severity", "error")).lower()
    effect = "a failure blocks downstream models" if severity == "error" else "warns, never blocks"
    return f"{what[0].upper()}{what[1:]} ({effect})."


@cache
def dbt_project() -> DbtProject:
    """The dbt project, its manifest prepared by `prepare_manifest` (make, the CLI, the tests).
    Not `prepare_if_dev()`: under `dagster dev` it would parse the project at load, with a
    `dbt` looked up on PATH, which a plain shell without the venv does not have."""
    return DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project(), profiles_dir=str(DBT_DIR), dbt_executable=dbt_executable()
    )


TRANSLATOR = BiotwinTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        enable_code_references=False,
        # one ingestion asset writes several source tables: they share its key
        enable_duplicate_source_asset_keys=True,
    )
)


class DbtBuildConfig(Config):
    """Run config of the dbt asset: full_refresh rebuilds the incremental marts from scratch
    (needed after a reference-data change, see docs/conformed.md)."""

    full_refresh: bool = False


@cache
def dbt_models() -> AssetsDefinition:
    """The dbt project as one asset definition, built from the prepared manifest when first
    asked for (the definitions, the CLI, a test), never when this module is imported."""
    return dbt_assets(
        manifest=MANIFEST,
        dagster_dbt_translator=TRANSLATOR,
        name="dbt_models",
        pool="warehouse",
    )(_build)


def _build(
    context: AssetExecutionContext, dbt: DbtCliResource, paths: PlantPaths, config: DbtBuildConfig
) -> Iterator[Any]:
    """Staging, intermediate and marts, with dbt tests as asset checks."""
    # dbt opens the file itself and fails at once if a reader holds it: wait here first, with
    # the same message and deadline as every other writer
    open_waiting(paths.warehouse_path(), read_only=False, say=context.log.warning).close()
    with openlineage_run(
        paths.lineage_path(),
        context.run.run_id,
        context.run.job_name,
        "dbt_models",
        "orchestration/dbt.py",
    ) as lineage:
        engine = paths.engine_name()
        if engine == "spark":
            before_spark_build(paths, context.log.info)
        target = new_build_target(paths.warehouse_path(), context.run.run_id)
        invocation = dbt.cli(
            build_args(
                paths.warehouse_path(),
                full_refresh=config.full_refresh,
                engine=engine,
                lake=paths.lake_path(),
                spark_home=paths.spark_home_path(),
            ),
            context=context,
            target_path=target,
        )
        # dbt holds the warehouse until it exits, so a model's row count can only be read
        # after the build: its events are kept until then and given their counts
        events, failure = [], None
        try:
            for event in invocation.stream():
                events.append(event)
        except Exception as exc:  # re-raised below, once the events are out
            failure = exc
        finally:
            _record_build(context, paths, invocation, lineage, config.full_refresh)
            finish_build_target(target, paths.warehouse_path())
            if engine == "spark":
                after_spark_build(paths)
        yield from with_row_counts(events, table_row_counts(paths.warehouse_path(), events))
        if failure is not None:
            raise failure


def before_spark_build(paths: PlantPaths, say) -> None:
    """The Spark engine reads the lake: export what ingestion added since the last build."""
    missing = spark_missing()
    if missing:
        raise RuntimeError(f"BIOTWIN_ENGINE=spark, but {missing}")
    started = time.perf_counter()
    con = connect(paths.warehouse_path())
    try:
        written = export_lake(con, paths.lake_path())
    finally:
        con.close()
    new_rows = sum(n for table, n in written.items() if "." not in table)
    say(
        f"lake {paths.lake_path()}: {new_rows} new raw rows exported for the Spark engine "
        f"in {time.perf_counter() - started:.1f} s"
    )


def after_spark_build(paths: PlantPaths) -> None:
    """The warehouse's `marts` become views over the Spark engine's Parquet marts, so every
    reader (the twin, publication, `biotwin query`) reads what Spark built."""
    con = connect(paths.warehouse_path())
    try:
        attach_spark_marts(con, paths.spark_home_path(), replace_tables=True)
    finally:
        con.close()


def table_row_counts(warehouse: Path, events: list[Any]) -> dict[str, int]:
    """Rows of every table model among the build's events ({unique_id: rows}); views are
    not counted (a view over the historian would be a scan of every reading)."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))["nodes"]
    wanted = {}
    for event in events:
        uid = _unique_id(event)
        node = manifest.get(uid or "")
        if node and node["config"].get("materialized") in ("table", "incremental"):
            wanted[uid] = (node["schema"], node.get("alias") or node["name"])
    if not wanted:
        return {}
    con = open_waiting(warehouse, read_only=True)
    try:
        # on the Spark engine only the marts are in the warehouse (views over its Parquet)
        return {
            uid: int(con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchall()[0][0])  # noqa: S608
            for uid, (schema, name) in wanted.items()
            if table_exists(con, schema, name)
        }
    finally:
        con.close()


def _unique_id(event: Any) -> str | None:
    value = getattr(event, "metadata", {}).get("unique_id")
    return getattr(value, "value", value)


def with_row_counts(events: list[Any], counts: dict[str, int]) -> Iterator[Any]:
    """The events, each table model's with `dagster/row_count` (the UI shows it)."""
    for event in events:
        uid = _unique_id(event)
        if uid in counts and isinstance(event, Output | AssetMaterialization):
            event = event.with_metadata({**event.metadata, "dagster/row_count": counts[uid]})
        yield event


def _record_build(
    context: AssetExecutionContext,
    paths: PlantPaths,
    invocation: DbtCliInvocation,
    lineage: LineageRun,
    full_refresh: bool,
) -> None:
    """After the build, failed or not: an audit entry with dbt's result counts, and START and
    COMPLETE/FAIL events for every model and seed that ran, children of this asset run."""
    try:
        manifest = invocation.get_artifact("manifest.json")
        results = invocation.get_artifact("run_results.json")
    except FileNotFoundError:  # dbt stopped before running anything: the asset run FAILs
        return
    warehouse = paths.warehouse_path()
    statuses = Counter(f"{r['unique_id'].split('.')[0]}:{r['status']}" for r in results["results"])
    con = connect(warehouse)
    try:
        audit_run(
            con,
            "dbt_models",
            context.run.run_id,
            {
                "command": "dbt build" + (" --full-refresh" if full_refresh else ""),
                "results": dict(sorted(statuses.items())),
            },
        )
        catalogue = read_catalogue(con)
    finally:
        con.close()
    run_context = DbtRunContext(
        dagster_run_id=context.run.run_id,
        parent=(lineage.run_id, lineage.namespace, lineage.job_name),
        root=(context.run.run_id, lineage.namespace, dagster_job_name(context.run.job_name)),
        job_namespace=lineage.namespace,
        warehouse_namespace=warehouse_namespace(),
        code_version=code_version(),
        project_url=PROJECT_ROOT.as_uri(),
        project_dir=DBT_DIR,
    )
    cache = load_lineage_cache()
    node_events = dbt_node_events(manifest, results, catalogue, run_context, cache)
    save_lineage_cache(cache)
    Outbox(paths.lineage_path()).append(*node_events)


# column lineage of the compiled models, by statement and schema: beside the manifest, which
# changes when they do (`make clean` or a new checkout starts it afresh)
LINEAGE_CACHE = MANIFEST.parent / "column_lineage_cache.json"


def load_lineage_cache() -> dict[str, dict]:
    try:
        return json.loads(LINEAGE_CACHE.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent or half-written: computed again
        return {}


def save_lineage_cache(cache: dict[str, dict]) -> None:
    """Written whole and renamed into place: two builds at once never leave half a file."""
    tmp = LINEAGE_CACHE.with_name(f"{LINEAGE_CACHE.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(cache), encoding="utf-8")
        tmp.replace(LINEAGE_CACHE)
    except OSError:  # a read-only checkout: lineage is computed again next time
        tmp.unlink(missing_ok=True)
