"""OpenLineage events for every dbt node a build ran, from dbt's own artifacts: pure.

dbt writes `manifest.json` (what each node reads and writes) and `run_results.json` (what ran,
when, and how it ended). From them, each model or seed that ran gets a START and a COMPLETE or
FAIL event, with the times dbt recorded; a node dbt skipped (downstream of a failure) did not
run and gets none. Each event carries: inputs (parent models, sources, or the seed file), the
output table with its schema, column lineage (from the compiled SQL) and the results of the dbt
tests on it, the compiled SQL and code version, and a parent facet naming the Dagster asset run
that ran dbt.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lineage import events, facets
from lineage.column_lineage import Catalogue, cached_column_sources, catalogue_digest
from lineage.naming import FILE_NAMESPACE, dbt_job_name, file_name, table_name

RAN = {"success": "COMPLETE", "error": "FAIL"}
RUN_NODES = ("model", "seed", "snapshot")


@dataclass(frozen=True)
class DbtRunContext:
    """What the events need beyond the artifacts."""

    dagster_run_id: str  # the Dagster run, part of every node's deterministic run id
    parent: facets.RunRef  # the dbt asset's run
    root: facets.RunRef  # the Dagster run the dbt asset ran in
    job_namespace: str
    warehouse_namespace: str
    code_version: str
    project_url: str  # where the code lives (file:// URI of the checkout)
    project_dir: Path  # the dbt project, for seed files


def relation(node: Mapping[str, Any]) -> str:
    """`schema.table` of a model, seed or source as the warehouse names it."""
    name = node.get("identifier") if node["resource_type"] == "source" else node.get("alias")
    return table_name(node["schema"], name or node["name"])


def _time(result: Mapping[str, Any], edge: str) -> datetime:
    """Start or end of the node's execute step (compile when it never executed)."""
    timing = {t["name"]: t for t in result.get("timing", [])}
    step = timing.get("execute") or timing.get("compile")
    value = step.get(edge) if step else None
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _assertions(
    manifest: Mapping[str, Any], results: Sequence[Mapping[str, Any]]
) -> dict[str, list[tuple[str, bool, str | None]]]:
    """Node id -> (assertion, passed, column) for every data and unit test that ran on it."""
    out: dict[str, list[tuple[str, bool, str | None]]] = {}
    for result in results:
        uid = result["unique_id"]
        if uid.startswith("test."):
            test = manifest["nodes"][uid]
            target = test.get("attached_node") or next(iter(test["depends_on"]["nodes"]), None)
            name = (test.get("test_metadata") or {}).get("name") or test["name"]
            column = test.get("column_name")
        elif uid.startswith("unit_test."):
            test = manifest["unit_tests"][uid]
            target = next(iter(test["depends_on"]["nodes"]), None)
            name, column = f"unit_test:{test['name']}", None
        else:
            continue
        if target and result["status"] != "skipped":
            out.setdefault(target, []).append((name, result["status"] == "pass", column))
    return out


def _inputs(
    manifest: Mapping[str, Any], node: Mapping[str, Any], ctx: DbtRunContext
) -> list[tuple[str, str, dict]]:
    if node["resource_type"] == "seed":
        seed = ctx.project_dir / node["original_file_path"]
        return [(FILE_NAMESPACE, file_name(seed), {})]
    found = []
    for parent in node["depends_on"]["nodes"]:
        parent_node = manifest["sources"].get(parent) or manifest["nodes"].get(parent)
        if parent_node and parent_node["resource_type"] in ("source", *RUN_NODES):
            found.append((ctx.warehouse_namespace, relation(parent_node), {}))
    return found


def _output_facets(
    node: Mapping[str, Any],
    result: Mapping[str, Any],
    catalogue: Catalogue,
    assertions: Sequence[tuple[str, bool, str | None]],
    ctx: DbtRunContext,
    lineage_cache: tuple[str, MutableMapping[str, dict]],
) -> dict[str, Any]:
    columns = catalogue.get(node["schema"], {}).get(node.get("alias") or node["name"], {})
    described = node.get("columns", {})
    out: dict[str, Any] = {}
    if columns:
        out["schema"] = facets.schema(
            (name, kind, (described.get(name) or {}).get("description") or None)
            for name, kind in columns.items()
        )
    sql = result.get("compiled_code")
    if sql and node["resource_type"] == "model":
        digest, cache = lineage_cache
        sources = cached_column_sources(sql, node.get("database"), catalogue, digest, cache)
        if sources:
            out["columnLineage"] = facets.column_lineage(
                {
                    column: [(ctx.warehouse_namespace, table, field) for table, field in fields]
                    for column, fields in sources.items()
                }
            )
    if assertions:
        out["dataQualityAssertions"] = facets.quality_assertions(assertions)
    return out


def dbt_node_events(
    manifest: Mapping[str, Any],
    run_results: Mapping[str, Any],
    catalogue: Catalogue,
    ctx: DbtRunContext,
    lineage_cache: MutableMapping[str, dict] | None = None,
) -> list[dict[str, Any]]:
    """START and COMPLETE/FAIL events (as dicts) for every model, seed and snapshot that ran.
    `lineage_cache` remembers column lineage between builds (lineage/column_lineage.py)."""
    results = run_results["results"]
    cache = (catalogue_digest(catalogue), {} if lineage_cache is None else lineage_cache)
    tested = _assertions(manifest, results)
    out = []
    for result in results:
        uid = result["unique_id"]
        state = RAN.get(result["status"])
        node = manifest["nodes"].get(uid)
        if state is None or node is None or node["resource_type"] not in RUN_NODES:
            continue
        run = events.run_id(ctx.dagster_run_id, uid)
        job_facets: dict[str, Any] = {
            "jobType": facets.job_type("DBT", node["resource_type"].upper()),
            "sourceCodeLocation": facets.code_location(
                ctx.code_version, ctx.project_url, f"dbt_project/{node['original_file_path']}"
            ),
        }
        if result.get("compiled_code"):
            job_facets["sql"] = facets.sql(result["compiled_code"])
        parent = {"parent": facets.parent(ctx.parent, ctx.root)}
        job_name = dbt_job_name(node["resource_type"], node["name"])
        inputs = _inputs(manifest, node, ctx)
        output = (ctx.warehouse_namespace, relation(node))
        start = events.run_event(
            "START",
            _time(result, "started_at"),
            run,
            ctx.job_namespace,
            job_name,
            inputs=inputs,
            outputs=[(*output, {})],
            run_facets=parent,
            job_facets=job_facets,
        )
        end_facets = dict(parent)
        output_facets: dict[str, Any] = {}
        if state == "FAIL":
            end_facets["errorMessage"] = facets.error_message(result.get("message") or "failed")
        else:
            output_facets = _output_facets(node, result, catalogue, tested.get(uid, []), ctx, cache)
        end = events.run_event(
            state,
            _time(result, "completed_at"),
            run,
            ctx.job_namespace,
            job_name,
            inputs=inputs,
            outputs=[(*output, output_facets)],
            run_facets=end_facets,
            job_facets=job_facets,
        )
        out += [events.to_dict(start), events.to_dict(end)]
    return out
