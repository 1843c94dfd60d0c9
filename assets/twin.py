"""Digital-twin assets (group `twin`): the `twin` package's results written to `twin.*`.

Three ops: `twin_monitoring` (the monitoring model, fitted once, writes two assets: the
golden envelope and the batch scores), `twin/outcome_forecast`, `twin/growth_model`. Each op
reads the marts, runs plain functions of `twin.pipeline`, replaces its tables, adds
new models to `twin.model_registry` (a model id is stable for the same training and code, so a
re-run adds nothing), writes a `model_trained` audit entry for every new model, and emits
OpenLineage events (marts in, twin tables out). Metadata carries plots for the UI.
"""
# No `from __future__ import annotations` here: Dagster reads the context type hint at runtime.

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from assets.catalog import OWNERS, TWIN_KINDS
from assets.resources import PlantPaths
from assets.twin_plots import plot_key, publish_plots
from biotwin.warehouse import connect
from lineage.asset_run import openlineage_run, table_dataset
from lineage.audit_log import append_committed, audit_run
from lineage.catalogue import read_catalogue
from lineage.code_version import code_version
from lineage.naming import table_name, warehouse_namespace
from twin.checks import (
    Verdict,
    forecast_beats_naive,
    forecast_coverage,
    monitoring_false_alarms,
    soft_sensor_quality,
)
from twin.data import TwinData, read_marts, read_twin_table
from twin.pipeline import (
    ENVELOPE_COLUMNS,
    FORECAST_COLUMNS,
    MONITORING_COLUMNS,
    SOFT_SENSOR_COLUMNS,
    empty,
    run_forecasts,
    run_growth,
    run_monitoring,
    run_soft_sensors,
)

TWIN_POOL = "warehouse"
MARTS_READ = ("fct_batch_trajectory", "fct_lab_result", "batch_features", "fct_batch_setpoint")
MART_KEYS = [AssetKey(["marts", name]) for name in MARTS_READ]
REGISTRY_DDL = """CREATE TABLE IF NOT EXISTS twin.model_registry (
    model_id VARCHAR, kind VARCHAR, product_id VARCHAR, trained_at TIMESTAMPTZ,
    code_version VARCHAR, n_training INTEGER, training_batches VARCHAR, metrics VARCHAR,
    params VARCHAR)"""


def _replace(con, table: str, frame: pd.DataFrame) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS twin")
    con.register("_twin_frame", frame)
    con.execute(f"CREATE OR REPLACE TABLE twin.{table} AS SELECT * FROM _twin_frame")  # noqa: S608
    con.unregister("_twin_frame")


def register_models(con, rows: list[dict], dagster_run_id: str) -> list[dict]:
    """Insert registry rows whose model id is new; audit each as `model_trained`."""
    con.execute("CREATE SCHEMA IF NOT EXISTS twin")
    con.execute(REGISTRY_DDL)
    known = {r[0] for r in con.execute("SELECT model_id FROM twin.model_registry").fetchall()}
    new = [r for r in rows if r["model_id"] not in known]
    if new:
        frame = pd.DataFrame(new)
        con.register("_twin_registry", frame)
        con.execute("INSERT INTO twin.model_registry BY NAME SELECT * FROM _twin_registry")
        con.unregister("_twin_registry")
        append_committed(
            con,
            [
                {
                    "kind": "model_trained",
                    "subject": r["model_id"],
                    "actor": f"dagster run {dagster_run_id}",
                    "detail": {
                        "model_kind": r["kind"],
                        "product_id": r["product_id"],
                        "training_batches": json.loads(r["training_batches"]),
                        "code_version": r["code_version"],
                        "metrics": json.loads(r["metrics"]),
                    },
                }
                for r in new
            ],
        )
    return new


@dataclass
class TwinRun:
    """What one twin op computed and wrote: its tables, registry rows (and which were new),
    plot metadata per table, and its checks' verdicts."""

    tables: dict[str, pd.DataFrame]
    registry: list[dict]
    new: list[dict]
    metadata: dict[str, dict]
    verdicts: dict[str, Verdict]


Work = Callable[[TwinData, str], tuple[dict[str, pd.DataFrame], list[dict], dict[str, dict]]]


def _twin_run(
    context: AssetExecutionContext,
    paths: PlantPaths,
    name: str,
    work: Work,
    checks: Callable[[dict[str, pd.DataFrame], list[dict]], dict[str, Verdict]] | None = None,
) -> TwinRun:
    """Read marts, run `work` (tables, registry rows, metadata per table), write its tables
    and registry rows; lineage and audit around (one run of the op `name`); `checks` turns
    what was computed into the checks' verdicts (twin/checks.py)."""
    warehouse = paths.warehouse_path()
    with openlineage_run(
        paths.lineage_path(),
        context.run.run_id,
        context.run.job_name,
        name,
        "assets/twin.py",
    ) as lineage:
        data = read_marts(warehouse)
        tables, registry, metadata = work(data, code_version())
        con = connect(warehouse)
        try:
            for table, frame in tables.items():
                _replace(con, table, frame)
            new = register_models(con, registry, context.run.run_id)
            audit_run(con, name, context.run.run_id, {"models_new": len(new)})
            catalogue = read_catalogue(con)
            written = [*tables, *(["model_registry"] if registry else [])]
            lineage.inputs = [
                (warehouse_namespace(), table_name("marts", m), {}) for m in MARTS_READ
            ]
            lineage.outputs = [table_dataset(catalogue, "twin", t) for t in written]
        finally:
            con.close()
    verdicts = checks(tables, registry) if checks else {}
    return TwinRun(tables, registry, new, metadata, verdicts)


def _result(run: TwinRun, key: AssetKey, table: str | None = None) -> MaterializeResult:
    """One asset's materialisation from its op's run: the plot first (what a person opening
    the asset looks for), its table's rows, the op's models, and the checks on this asset."""
    metadata = run.metadata.get(table or "", {})
    return MaterializeResult(
        asset_key=key,
        metadata={
            **({"plot": metadata["plot"]} if "plot" in metadata else {}),
            **({f"rows/{table}": len(run.tables[table])} if table in run.tables else {}),
            "models_registered": len(run.registry),
            "models_new": len(run.new),
            **metadata,
        },
        check_results=[
            AssetCheckResult(
                asset_key=key,
                check_name=name,
                passed=v.passed,
                severity=AssetCheckSeverity.WARN,  # a rule about values: never blocks
                description=v.summary,
                metadata={
                    "summary": v.summary,
                    "failing": v.failing,
                    "checked": len(v.rows),
                    "rows": MetadataValue.json(v.rows),
                },
            )
            for name, v in run.verdicts.items()
            if CHECKED_ASSET[name] == key
        ],
    )


def _outcome_of(data: TwinData, forecasts: pd.DataFrame, batch: str) -> str:
    """The outcome parameter the batch's process forecasts."""
    product = forecasts.loc[forecasts["batch_id"] == batch, "product_id"].iloc[0]
    return data.processes[product].outcome_parameter_id


def _registered(paths: PlantPaths) -> dict[str, dict]:
    """Model id -> registered metrics: what a twin op need not compute again."""
    known = read_twin_table(paths.warehouse_path(), "model_registry")
    return {r["model_id"]: json.loads(r["metrics"]) for r in known.to_dict("records")}


def _forecast_metrics(registry: list[dict]) -> list[dict]:
    return [
        {"model": r["model_id"], **json.loads(r["metrics"])}
        for r in registry
        if str(r["kind"]).startswith("forecast_")
    ]


def _forecast_checks(tables: dict[str, pd.DataFrame], registry: list[dict]) -> dict:
    metrics = _forecast_metrics(registry)
    return {
        "beats_naive": forecast_beats_naive(metrics),
        "interval_coverage": forecast_coverage(metrics),
    }


def _monitoring_checks(tables: dict[str, pd.DataFrame], registry: list[dict]) -> dict:
    return {"false_alarm_rate": monitoring_false_alarms(tables["batch_monitoring"])}


def _soft_sensor_checks(tables: dict[str, pd.DataFrame], registry: list[dict]) -> dict:
    metrics = [{"model": r["model_id"], **json.loads(r["metrics"])} for r in registry]
    return {"sensor_quality": soft_sensor_quality(metrics)}


FORECAST_KEY = AssetKey(["twin", "outcome_forecast"])
ENVELOPE_KEY = AssetKey(["twin", "golden_envelope"])
MONITORING_KEY = AssetKey(["twin", "batch_monitoring"])
GROWTH_KEY = AssetKey(["twin", "growth_model"])
SOFT_SENSOR_KEY = AssetKey(["twin", "soft_sensor"])
CHECKED_ASSET = {
    "beats_naive": FORECAST_KEY,
    "interval_coverage": FORECAST_KEY,
    "false_alarm_rate": MONITORING_KEY,
    "sensor_quality": SOFT_SENSOR_KEY,
}


def _monitoring_work(data: TwinData, code: str):
    results = {pid: run_monitoring(data, p, code) for pid, p in data.processes.items()}
    results = {pid: r for pid, r in results.items() if r is not None}
    if not results:  # no process has 3 reference batches yet
        return empty(ENVELOPE_COLUMNS), empty(MONITORING_COLUMNS), []
    envelope = pd.concat([r.envelope for r in results.values()], ignore_index=True)
    monitoring = pd.concat([r.monitoring for r in results.values()], ignore_index=True)
    registry = [row for r in results.values() for row in r.registry]
    return envelope, monitoring, registry


def _example_batch(monitoring: pd.DataFrame) -> str | None:
    """The batch to picture: the latest alarm if any, else the latest scored batch."""
    alarmed = monitoring[monitoring["is_first_alarm"].astype(bool)]
    pool = alarmed if len(alarmed) else monitoring
    return None if pool.empty else str(pool.sort_values("batch_id")["batch_id"].iloc[-1])


def _twin_spec(key: AssetKey, description: str, deps=MART_KEYS) -> AssetSpec:
    return AssetSpec(
        key, group_name="twin", owners=OWNERS, kinds=TWIN_KINDS, deps=deps, description=description
    )


@multi_asset(
    name="twin_monitoring",
    specs=[
        _twin_spec(
            ENVELOPE_KEY,
            "Reference batches by the golden-batch rule and their envelope per parameter and "
            "grid step (twin.golden_envelope); the monitoring model is registered.",
        ),
        _twin_spec(
            MONITORING_KEY,
            "Hotelling T² and SPE of every batch at every grid step with limits, first alarm "
            "and the parameters that drive it (twin.batch_monitoring).",
        ),
    ],
    check_specs=[
        AssetCheckSpec(
            "false_alarm_rate",
            asset=MONITORING_KEY,
            description="Held-out normal (reference) batches that alarm: at most the 5 % "
            "target plus its binomial allowance, per process",
        )
    ],
    pool=TWIN_POOL,
)
def twin_monitoring(context: AssetExecutionContext, paths: PlantPaths):
    """The monitoring model is fitted once per run: its envelope and its scores of every
    batch are two assets of one op (the golden-batch rule, the PCA and the limits are one
    model)."""

    def work(data: TwinData, code: str):
        from twin import plots  # matplotlib: imported when plotting

        envelope, monitoring, registry = _monitoring_work(data, code)
        scored = monitoring[["batch_id", "product_id"]].drop_duplicates().sort_values("batch_id")
        by_product = dict(tuple(envelope.groupby("product_id")))
        example = _example_batch(monitoring)

        by_batch = dict(tuple(data.trajectory.groupby("batch_id")))
        # a process's envelope is in every one of its batches' pictures: hashed once
        envelope_keys = {p: plot_key(e) for p, e in by_product.items()}

        def envelope_figure(batch: str, product: str):
            params = list(data.processes[product].parameters)[:4]
            own = by_product.get(product, envelope.iloc[:0])  # the batch's own process
            rows = by_batch.get(batch, data.trajectory.iloc[:0])
            units = {p: data.units.get(p) for p in params}
            return (
                batch,
                f"{batch} against its envelope",
                lambda: plots.envelope_plot(own, rows, batch, params, data.units),
                plot_key(envelope_keys.get(product, ""), rows, batch, params, units),
            )

        envelope_meta = publish_plots(
            "golden_envelope",
            context.run.run_id,
            [envelope_figure(b, p) for b, p in scored.itertuples(False)],
            example,
            "Golden envelope: every scored batch against its reference envelope",
        )
        alarms = monitoring[monitoring["is_first_alarm"].astype(bool)]
        monitoring_meta = {
            "batches_alarmed": int(alarms["batch_id"].nunique()),
            "alarms": MetadataValue.md(
                alarms[["batch_id", "elapsed_h", "top_contributors"]].to_markdown(index=False)
                if len(alarms)
                else "no alarm"
            ),
        }
        monitoring_meta |= publish_plots(
            "batch_monitoring",
            context.run.run_id,
            [
                (
                    b,
                    f"{b}: T² and SPE",
                    partial(plots.monitoring_plot, rows, b),
                    plot_key(rows, b),
                )
                for b, rows in monitoring.groupby("batch_id")
            ],
            example,
            "Batch monitoring: T² and SPE of every scored batch against their limits",
        )
        tables = {"golden_envelope": envelope, "batch_monitoring": monitoring}
        meta = {"golden_envelope": envelope_meta, "batch_monitoring": monitoring_meta}
        return tables, registry, meta

    run = _twin_run(context, paths, "twin_monitoring", work, _monitoring_checks)
    yield _result(run, ENVELOPE_KEY, "golden_envelope")
    yield _result(run, MONITORING_KEY, "batch_monitoring")


@asset(
    key=FORECAST_KEY,
    check_specs=[
        AssetCheckSpec(
            "beats_naive",
            asset=FORECAST_KEY,
            description="Cross-validated MAPE below the naive forecast (training mean) at "
            "every checkpoint of every process",
        ),
        AssetCheckSpec(
            "interval_coverage",
            asset=FORECAST_KEY,
            description="90 % intervals cover at least 0.90 minus the binomial allowance of "
            "the held-out outcomes, at every checkpoint",
        ),
    ],
    group_name="twin",
    pool=TWIN_POOL,
    owners=OWNERS,
    kinds=TWIN_KINDS,
    deps=[SOFT_SENSOR_KEY, *MART_KEYS],
    description="Outcome forecasts with 90 % intervals at 20/40/60/80 % of the expected "
    "duration: in-progress batches, and cross-validated ones for completed batches. The soft "
    "sensors' estimates at each checkpoint are among their features.",
)
def outcome_forecast(context: AssetExecutionContext, paths: PlantPaths) -> MaterializeResult:
    def work(data: TwinData, code: str):
        from twin import plots  # matplotlib: imported when plotting

        registered = _registered(paths)
        previous = read_twin_table(paths.warehouse_path(), "outcome_forecast")
        soft = read_twin_table(paths.warehouse_path(), "soft_sensor")
        results = [
            run_forecasts(data, p, code, registered, previous, soft)
            for p in data.processes.values()
        ]
        results = [r for r in results if r is not None]
        if not results:  # no process has 5 completed batches yet
            return {"outcome_forecast": empty(FORECAST_COLUMNS)}, [], {}
        forecasts = pd.concat([r.forecasts for r in results], ignore_index=True)
        registry = [row for r in results for row in r.registry]
        metrics = pd.DataFrame(
            [{"model": r["model_id"], **json.loads(r["metrics"])} for r in registry]
        )[["model", "checkpoint_h", "mape", "naive_mape", "coverage_90"]]
        meta = {"cross_validated": MetadataValue.md(metrics.round(3).to_markdown(index=False))}
        running = forecasts[forecasts["kind"] == "in_progress"]
        pool = running if len(running) else forecasts
        example = str(pool.sort_values("batch_id")["batch_id"].iloc[-1]) if len(pool) else None

        def forecast_figure(batch: str, rows: pd.DataFrame):
            outcome = _outcome_of(data, forecasts, batch)
            unit = data.units.get(outcome, "")
            return (
                batch,
                f"{batch}: forecast",
                lambda: plots.forecast_plot(rows, batch, outcome, unit),
                plot_key(rows, batch, outcome, unit),
            )

        meta |= publish_plots(
            "outcome_forecast",
            context.run.run_id,
            [forecast_figure(b, rows) for b, rows in forecasts.groupby("batch_id")],
            example,
            "Outcome forecasts of every scored batch, with 90 % intervals",
        )
        return {"outcome_forecast": forecasts}, registry, {"outcome_forecast": meta}

    run = _twin_run(context, paths, "twin/outcome_forecast", work, _forecast_checks)
    return _result(run, FORECAST_KEY, "outcome_forecast")


@asset(
    key=GROWTH_KEY,
    group_name="twin",
    pool=TWIN_POOL,
    owners=OWNERS,
    kinds=TWIN_KINDS,
    deps=[ENVELOPE_KEY, FORECAST_KEY, *MART_KEYS],
    description="The growth model of every process whose reference row names one, fitted and "
    "registered in twin.model_registry (which lists every model of the twin with its training "
    "batches, code version and cross-validated metrics).",
)
def growth_model(context: AssetExecutionContext, paths: PlantPaths) -> MaterializeResult:
    def work(data: TwinData, code: str):
        registered = read_twin_table(paths.warehouse_path(), "model_registry")
        known = frozenset(registered["model_id"]) if len(registered) else frozenset()
        registry = [
            row for p in data.processes.values() for row in run_growth(data, p, code, known)
        ]
        return {}, registry, {}

    run = _twin_run(context, paths, "twin/growth_model", work)
    con = connect(paths.warehouse_path(), read_only=True)
    try:
        listing = con.execute(
            "SELECT model_id, kind, n_training, code_version, trained_at FROM twin.model_registry "
            "ORDER BY trained_at DESC, model_id LIMIT 30"
        ).df()
    finally:
        con.close()
    run.metadata[""] = {"registry": MetadataValue.md(listing.to_markdown(index=False))}
    return _result(run, GROWTH_KEY)


@asset(
    key=SOFT_SENSOR_KEY,
    check_specs=[
        AssetCheckSpec(
            "sensor_quality",
            asset=SOFT_SENSOR_KEY,
            description="Every published soft sensor's 90 % intervals cover about 90 % of the "
            "held-out lab results; names the quantities online data do not explain",
        )
    ],
    group_name="twin",
    pool=TWIN_POOL,
    owners=OWNERS,
    kinds=TWIN_KINDS,
    deps=MART_KEYS,
    description="Soft sensors: the current value of each lab quantity the online signals "
    "explain (cell density, metabolites...), at every grid step between lab samples, with a "
    "90 % interval; scored out of fold against the typical curve.",
)
def soft_sensor(context: AssetExecutionContext, paths: PlantPaths) -> MaterializeResult:
    def work(data: TwinData, code: str):
        registered = _registered(paths)
        previous = read_twin_table(paths.warehouse_path(), "soft_sensor")
        results = [
            run_soft_sensors(data, p, code, registered, previous) for p in data.processes.values()
        ]
        registry = [row for r in results for row in r.registry]
        frames = [r.estimates for r in results if len(r.estimates)]
        estimates = pd.concat(frames, ignore_index=True) if frames else empty(SOFT_SENSOR_COLUMNS)
        scores = pd.DataFrame(
            [{"model": r["model_id"], **json.loads(r["metrics"])} for r in registry]
        )
        meta = {}
        if len(scores):
            table = scores[["model", "mae", "typical_curve_mae", "mae_reduction", "coverage_90"]]
            meta = {"out_of_fold": MetadataValue.md(table.round(3).to_markdown(index=False))}
        return {"soft_sensor": estimates}, registry, {"soft_sensor": meta}

    run = _twin_run(context, paths, "twin/soft_sensor", work, _soft_sensor_checks)
    return _result(run, SOFT_SENSOR_KEY, "soft_sensor")


TWIN_ASSETS = [twin_monitoring, outcome_forecast, growth_model, soft_sensor]
