"""The twin's runs as plain functions: marts in, `twin.*` rows out (the assets only write them).

Every model gets an id derived from what defines it (kind, product, training batches, code
version), so the same training gives the same id and the registry, the monitoring rows and the
forecasts name the same model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from twin import monitoring as mon
from twin.data import TwinData, elapsed_at_steps, measured_cube, monitoring_cube
from twin.golden import Envelope, envelope, reference_batches
from twin.process import CHECKPOINTS, Process

ENVELOPE_COLUMNS = (
    "product_id",
    "parameter_id",
    "elapsed_h",
    "centre",
    "lower",
    "upper",
    "sd",
    "n_reference_batches",
    "model_id",
)
MONITORING_COLUMNS = (
    "batch_id",
    "product_id",
    "elapsed_h",
    "t2",
    "spe",
    "t2_limit",
    "spe_limit",
    "drift",
    "drift_limit",
    "beyond_limit",
    "is_first_alarm",
    "first_alarm_h",
    "top_contributors",
    "scored_held_out",
    "model_id",
)
FORECAST_COLUMNS = (
    "batch_id",
    "product_id",
    "checkpoint_share",
    "checkpoint_h",
    "predicted",
    "lower",
    "upper",
    "actual",
    "kind",
    "model_id",
    "outcome_parameter_id",
)


def empty(columns: tuple[str, ...]) -> pd.DataFrame:
    """A table with no rows but its columns (the twin ran, there was nothing to score)."""
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})


def model_id(kind: str, product_id: str, training: list[str], code_version: str) -> str:
    text = "\x1f".join([kind, product_id, *sorted(training), code_version])
    return f"{kind}:{product_id}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def registry_row(
    kind: str,
    process: Process,
    training: list[str],
    code_version: str,
    metrics: dict,
    params: dict,
) -> dict:
    return {
        "model_id": model_id(kind, process.product_id, training, code_version),
        "kind": kind,
        "product_id": process.product_id,
        "trained_at": datetime.now(UTC),
        "code_version": code_version,
        "n_training": len(training),
        "training_batches": json.dumps(sorted(training)),
        "metrics": json.dumps(metrics, default=float),
        "params": json.dumps(params, default=float),
    }


@dataclass(frozen=True)
class MonitoringResult:
    envelope: pd.DataFrame
    monitoring: pd.DataFrame
    registry: list[dict]


def run_monitoring(
    data: TwinData, process: Process, code_version: str, override: list[str] | None = None
) -> MonitoringResult | None:
    """Golden envelope and T²/SPE of every batch of the process, at every grid step. The
    envelope table is in measured values (what people compare a batch with); the monitoring
    model sees controlled parameters relative to each batch's set-point (`monitoring_cube`)."""
    features = data.batches(process.product_id)
    reference = reference_batches(features, process.product_id, override)
    if len(reference) < 3 or not process.parameters:
        return None
    reference_cube = monitoring_cube(data, process, reference)
    model, kept, dropped = mon.fit_cleaned(reference_cube, reference)
    mid = model_id("golden_batch", process.product_id, kept, code_version)
    golden = _envelope_rows(envelope(measured_cube(data, process, kept)), process, mid)
    batches = list(features["batch_id"])
    others = [b for b in batches if b not in kept]
    kept_cube = reference_cube[[reference.index(b) for b in kept]]
    rows = _reference_rows(data, process, model, kept, kept_cube, mid)
    if others:
        scores = mon.score(model, monitoring_cube(data, process, others))
        hours = elapsed_at_steps(data, process, others)
        rows.append(_monitoring_rows(model, process, others, scores, hours, mid, held_out=False))
    rows = [r for r in rows if len(r)]
    monitoring = pd.concat(rows, ignore_index=True) if rows else empty(MONITORING_COLUMNS)
    alarmed = monitoring.loc[monitoring["is_first_alarm"], "batch_id"].nunique()
    registry = registry_row(
        "golden_batch",
        process,
        kept,
        code_version,
        {
            "t2_limit": model.t2_limit,
            "spe_limit": model.spe_limit,
            "drift_limit": model.drift_limit,
            "false_alarm_rate": mon.FALSE_ALARM_RATE,
            "limit_basis": model.limit_basis,
            "small_reference": model.small_reference,
            "consecutive": model.consecutive,
            "components": int(model.loadings.shape[1]),
            "reference_rule_batches": len(reference),
            "dropped_from_reference": dropped,
            "batches_alarmed": int(alarmed),
            "batches_scored": len(batches),
        },
        {
            "parameters": list(process.parameters),
            "relative_to_setpoint": list(process.setpoint_parameters),
            "grid_step_h": process.grid_step_h,
            "screen_sd": mon.SCREEN_SD,
            "point_quantile": mon.POINT_QUANTILE,
            "ewma_lambda": mon.EWMA_LAMBDA,
        },
    )
    return MonitoringResult(golden, monitoring, [registry])


def _reference_rows(
    data: TwinData,
    process: Process,
    model: mon.MonitoringModel,
    kept: list[str],
    cube: np.ndarray,  # the monitoring cube of `kept`
    mid: str,
) -> list[pd.DataFrame]:
    """The reference batches' rows, each batch judged as a new one would be: scored and
    limited by the model of the other folds (`mon.cross_fitted`), so the false-alarm rate the
    check reads is measured on batches its limits never saw. A batch no fold can hold out
    (fewer than 3 others) is scored leave-one-out against the full model's limits."""
    rows, covered = [], set()
    for fold, fold_model, scores in mon.cross_fitted(cube):
        ids = [kept[i] for i in fold]
        hours = elapsed_at_steps(data, process, ids)
        rows.append(_monitoring_rows(fold_model, process, ids, scores, hours, mid, held_out=True))
        covered |= set(ids)
    rest = [i for i, b in enumerate(kept) if b not in covered]
    if rest:
        loo = mon.Scores(
            *(getattr(model.held_out, f)[rest] for f in mon.Scores.__dataclass_fields__)
        )
        ids = [kept[i] for i in rest]
        hours = elapsed_at_steps(data, process, ids)
        rows.append(_monitoring_rows(model, process, ids, loo, hours, mid, held_out=True))
    return [r for r in rows if len(r)]


def _envelope_rows(env: Envelope, process: Process, mid: str) -> pd.DataFrame:
    lower, upper = env.limits()
    steps, params = np.meshgrid(process.grid, process.parameters, indexing="ij")
    frame = pd.DataFrame(
        {
            "product_id": process.product_id,
            "parameter_id": params.ravel(),
            "elapsed_h": steps.ravel(),
            "centre": env.centre.ravel(),
            "lower": lower.ravel(),
            "upper": upper.ravel(),
            "sd": env.sd.ravel(),
            "n_reference_batches": env.n_batches.ravel(),
            "model_id": mid,
        }
    )
    return frame[frame["centre"].notna()].reset_index(drop=True)


def _monitoring_rows(
    model: mon.MonitoringModel,
    process: Process,
    batches: list[str],
    scores: mon.Scores,
    hours: np.ndarray,  # [batch, step] the batch's elapsed hour at each grid step
    mid: str,
    held_out: bool,
) -> pd.DataFrame:
    beyond = mon.beyond_limits(model, scores)
    alarms = mon.first_alarms(model, scores)
    frames = []
    for b, batch in enumerate(batches):
        observed = ~np.isnan(scores.t2[b])
        steps = np.flatnonzero(observed)
        if not len(steps):
            continue
        first = alarms[b]
        top = [
            ", ".join(
                f"{p} {share:.0%}"
                for p, share in mon.top_contributors(model, scores, b, k, process.parameters)
            )
            for k in steps
        ]
        frames.append(
            pd.DataFrame(
                {
                    "batch_id": batch,
                    "product_id": process.product_id,
                    "elapsed_h": hours[b, steps],
                    "t2": scores.t2[b, steps],
                    "spe": scores.spe[b, steps],
                    "t2_limit": model.t2_limit,
                    "spe_limit": model.spe_limit,
                    "drift": scores.drift[b, steps],
                    "drift_limit": model.drift_limit,
                    "beyond_limit": beyond[b, steps],
                    "is_first_alarm": steps == first if first is not None else False,
                    "first_alarm_h": np.nan if first is None else float(hours[b, first]),
                    "top_contributors": top,
                    "scored_held_out": held_out,
                    "model_id": mid,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else empty(MONITORING_COLUMNS)


def completed(features: pd.DataFrame) -> pd.DataFrame:
    """Batches that finished with a recorded outcome (what forecasts learn from)."""
    done = ~features["is_in_progress"].astype(bool) & features["outcome_value"].notna()
    return features[done & (pd.to_numeric(features["outcome_value"], errors="coerce") > 0)]


@dataclass(frozen=True)
class ForecastResult:
    forecasts: pd.DataFrame
    registry: list[dict]


def run_forecasts(
    data: TwinData,
    process: Process,
    code_version: str,
    registered: dict | None = None,
    previous: pd.DataFrame | None = None,
    soft: pd.DataFrame | None = None,
) -> ForecastResult | None:
    """Cross-validated metrics and held-out forecasts of completed batches, and forecasts at
    every checkpoint an in-progress batch has passed, from models chosen and fitted on all
    completed. Where every checkpoint's model is `registered` (model id -> metrics: the same
    completed batches and code) and `previous` (the last twin.outcome_forecast) holds its
    held-out forecasts, neither the cross-validation nor the choice is repeated: the registered
    choice is refitted (a new historian file of a running batch changes neither). `soft`: the
    soft sensors' estimates (twin.soft_sensor), features of every checkpoint."""
    from twin.forecast import cross_validate, features_at, fit_forecaster  # sklearn: ~1 s

    features = data.batches(process.product_id)
    done = completed(features)
    if len(done) < 5:
        return None
    ids = list(done["batch_id"])
    outcomes = done["outcome_value"].astype(float).to_numpy()
    recipe = data.recipe(process)
    mids = {
        share: model_id(f"forecast_{round(share * 100)}pct", process.product_id, ids, code_version)
        for share in CHECKPOINTS
    }
    reused = _registered_forecasts(mids, registered or {}, previous, len(ids))
    if reused is None:
        metrics, held_out = cross_validate(
            process, ids, outcomes, data.trajectory, data.labs, recipe, soft=soft
        )
        by_hour = {m.hour: m for m in metrics}
    running = features[features["is_in_progress"].astype(bool)]
    rows, registry = [], []
    for share, hour in zip(CHECKPOINTS, process.checkpoint_hours(), strict=True):
        kind, mid = f"forecast_{round(share * 100)}pct", mids[share]
        x = features_at(process, ids, data.trajectory, data.labs, recipe, hour, soft)
        if reused is not None:
            known = registered[mid]
            model = fit_forecaster(
                x, outcomes, hour, given=(tuple(known["chosen"].split("+")), known["half_width"])
            )
            registry.append(registry_row(kind, process, ids, code_version, known, {}))
            rows.append(reused[reused["model_id"] == mid][list(FORECAST_COLUMNS[:-1])])
        else:
            m = by_hour[hour]
            # the model in-progress batches get: chosen by inner CV on every completed batch
            model = fit_forecaster(x, outcomes, hour, learn=not m.fell_back)
            registry.append(_forecast_registry_row(kind, process, ids, code_version, m, model))
            cv = held_out[held_out["checkpoint_h"] == hour]
            rows.append(
                cv.assign(
                    product_id=process.product_id,
                    checkpoint_share=share,
                    kind="cross_validated",
                    model_id=mid,
                )[list(FORECAST_COLUMNS[:-1])]
            )
        now = running[running["observed_h"].astype(float) >= hour]
        if len(now):
            x_now = features_at(
                process, list(now["batch_id"]), data.trajectory, data.labs, recipe, hour, soft
            )
            out = model.predict(x_now).reset_index()
            rows.append(
                out.assign(
                    product_id=process.product_id,
                    checkpoint_share=share,
                    checkpoint_h=hour,
                    actual=np.nan,
                    kind="in_progress",
                    model_id=mid,
                )[list(FORECAST_COLUMNS[:-1])]
            )
    forecasts = pd.concat(rows, ignore_index=True)
    forecasts["outcome_parameter_id"] = process.outcome_parameter_id
    return ForecastResult(forecasts, registry)


def _registered_forecasts(
    mids: dict, registered: dict, previous: pd.DataFrame | None, n_batches: int
) -> pd.DataFrame | None:
    """The previous held-out forecasts of these models, when every one is registered with its
    choice and all its held-out rows are there; else None (cross-validate again)."""
    if previous is None or previous.empty or "model_id" not in previous:
        return None
    if not all("half_width" in registered.get(mid, {}) for mid in mids.values()):
        return None
    rows = previous[
        previous["model_id"].isin(mids.values()) & (previous["kind"] == "cross_validated")
    ]
    return rows if len(rows) == len(mids) * n_batches else None


def _forecast_registry_row(kind, process, ids, code_version, m, model) -> dict:
    return registry_row(
        kind,
        process,
        ids,
        code_version,
        {
            "checkpoint_h": m.hour,
            "chosen": model.chosen,
            "half_width": model.half_width,
            "candidate_cv_mape": model.candidate_mape,
            "mape": m.mape,
            "rmse": m.rmse,
            "coverage_90": m.coverage,
            "naive_mape": m.naive_mape,
            "naive_rmse": m.naive_rmse,
            "naive_coverage_90": m.naive_coverage,
            "mape_reduction": m.mape_reduction,
            "n_batches": m.n_batches,
            "chosen_in_outer_folds": m.chosen,
            "learned_mape": m.learned_mape,
            "fell_back_out_of_fold": m.fell_back,
            "growth_capacity": model.capacity,  # twin.projection; None where it does not apply
            "cv": "5-fold grouped by batch; the choice repeated by inner 5-fold CV in every fold",
        },
        {"outcome_parameter_id": process.outcome_parameter_id, "features": model.columns},
    )


def run_growth(
    data: TwinData, process: Process, code_version: str, registered: frozenset[str] = frozenset()
) -> list[dict]:
    """Fit the process's growth model (when its reference row names one) on completed batches.
    A model already `registered` (same batches, same code) is not fitted again: the fit takes
    a minute and a new historian file of a running batch does not change it."""
    from twin import growth  # scipy: imported when a model is fitted, not when Dagster loads

    if process.mechanistic_model != "logistic_monod":
        return []
    ids = list(completed(data.batches(process.product_id))["batch_id"])
    if len(ids) < 3 or not set(growth.NEEDS) <= set(process.parameters):
        return []
    inputs = growth.batch_inputs(process, ids, data.trajectory, data.labs)
    training = [b.batch_id for b in inputs]
    kind = "growth_logistic_monod"
    if len(inputs) < 3 or model_id(kind, process.product_id, training, code_version) in registered:
        return []
    model = growth.fit(process, inputs)
    return [
        registry_row(
            kind,
            process,
            list(model.training_batches),
            code_version,
            {"rmse_log_vcd": model.rmse_log_x, "bootstrap": len(model.samples)},
            {
                "constants": model.as_dict(),
                "bootstrap_constants": model.samples.tolist(),
                "names": list(growth.NAMES),
            },
        )
    ]


SOFT_SENSOR_COLUMNS = (
    "batch_id",
    "product_id",
    "elapsed_h",
    "parameter_id",
    "estimate",
    "lower",
    "upper",
    "kind",
    "model_id",
)


@dataclass(frozen=True)
class SoftSensorResult:
    estimates: pd.DataFrame
    registry: list[dict]


def run_soft_sensors(
    data: TwinData,
    process: Process,
    code_version: str,
    registered: dict | None = None,
    previous: pd.DataFrame | None = None,
) -> SoftSensorResult:
    """A sensor per lab quantity the process samples in process (`twin.soft_sensor`), trained
    on the lab results of its completed batches; estimates at every grid step of every batch
    from the sensors that beat the typical curve out of fold (held out for the batches it was
    scored on). Every sensor is registered with its scores. A sensor already `registered`
    (model id -> metrics: the same completed batches and code) whose held-out estimates are
    in `previous` (the last twin.soft_sensor) is not scored again, only refitted: a new
    historian file of a running batch changes neither its training nor its scores, and
    scoring is five fits."""
    from twin import soft_sensor  # sklearn: imported when a sensor is fitted

    ids = sorted(data.batches(process.product_id)["batch_id"])
    done = set(completed(data.batches(process.product_id))["batch_id"])
    labs = data.labs[data.labs["batch_id"].isin(done)]
    quantities = soft_sensor.sensed_quantities(process, labs, ids)
    if not quantities or not process.parameters:
        return SoftSensorResult(empty(SOFT_SENSOR_COLUMNS), [])
    features = soft_sensor.online_features(process, ids, data.trajectory, data.recipe(process))
    until = soft_sensor.last_steps(process, ids, data.trajectory)
    trained = sorted(labs["batch_id"].unique())
    frames, registry = [], []
    for quantity in quantities:
        kind = f"soft_sensor_{quantity}"
        mid = model_id(kind, process.product_id, trained, code_version)
        scored = _registered_sensor(
            (registered or {}).get(mid), previous, mid, trained, ids, process.grid
        )
        if scored is None:
            scored = soft_sensor.score_sensor(process, features, labs, ids, quantity)
        sensor = soft_sensor.fit_sensor(process, features, labs, ids, quantity, scored)
        m = sensor.metrics
        explained = m.mae < m.baseline_mae
        registry.append(
            registry_row(
                kind,
                process,
                trained,
                code_version,
                {
                    "parameter_id": quantity,
                    "n_samples": m.n_samples,
                    "n_batches": m.n_batches,
                    "mae": m.mae,
                    "typical_curve_mae": m.baseline_mae,
                    "mae_reduction": m.reduction,
                    "coverage_90": m.coverage,
                    "explained_by_online_data": explained,
                    "log_scale": m.log_scale,
                    "half_width": sensor.half_width,
                    "cv": "5-fold grouped by batch, completed batches",
                },
                {"log_scale": m.log_scale, "half_width": sensor.half_width},
            )
        )
        if explained:
            rows = soft_sensor.estimates(
                sensor, features, ids, process.grid, until, scored.held_out
            )
            frames.append(
                rows.assign(product_id=process.product_id, model_id=mid)[list(SOFT_SENSOR_COLUMNS)]
            )
    estimates = pd.concat(frames, ignore_index=True) if frames else empty(SOFT_SENSOR_COLUMNS)
    return SoftSensorResult(estimates, registry)


def _registered_sensor(
    known: dict | None,
    previous: pd.DataFrame | None,
    mid: str,
    trained: list[str],
    ids: list[str],
    grid: np.ndarray,
):
    """A registered sensor's scores with its held-out estimates from the previous run's rows;
    None (score it again) unless it is registered and it published held-out rows of every
    batch it trained on, or, not explained by online data, published nothing."""
    from twin import soft_sensor

    if known is None or previous is None or "kind" not in previous:
        return None
    rows = previous[previous["model_id"] == mid]
    held = rows[rows["kind"] == "cross_validated"]
    if bool(known["explained_by_online_data"]) and not set(trained) <= set(held["batch_id"]):
        return None
    metrics = soft_sensor.SensorMetrics.from_registry(known)
    held_out = soft_sensor.held_out_from(held, ids, grid, metrics.log_scale)
    return soft_sensor.Scored(metrics, float(known["half_width"]), held_out)
