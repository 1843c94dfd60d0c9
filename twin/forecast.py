"""Outcome forecast at checkpoints of a running batch, with a conformal prediction interval.

At checkpoint t (a share of the expected duration, snapped to the grid) a batch is described
only by what was known at hour t:
- its recipe: every parameter of kind `recipe` (ref.parameters) its batch record sets, the
  actual value once the record has written it and the set-point before (`recipe_at`), and
  the planned culture length (`batch_features.planned_duration_h`, from the process's
  `duration_parameter_id`);
- per monitored parameter, the mean of its trajectory up to t and its mean over the last
  three observed steps up to t;
- per lab parameter, the latest result sampled at or before t (a result counts from its
  sample time; docs/twin.md says why).
A ridge regression (penalty chosen by inner cross-validation) maps these to the log of the
outcome. The 90 % interval is split-conformal on out-of-fold residuals of the training set,
so its coverage holds for exchangeable batches without a distributional assumption. Metrics
come from cross-validation grouped by batch, against the naive forecast (the training mean,
with the training 5–95 % range as its interval).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from twin.data import batch_cube
from twin.nan import quiet_empty_slices
from twin.process import Process

COVERAGE = 0.9
ALPHAS = np.logspace(-2, 3, 12)
LAST_STEPS = 3
CLIP_LOG = 0.25  # forecasts stay within the training outcomes' range, widened by ±28 %
SLOPE_WINDOW_H = 24.0  # specific rates over the last day


def features_at(
    process: Process,
    batch_ids: list[str],
    trajectory: pd.DataFrame,
    labs: pd.DataFrame,
    recipe: pd.DataFrame,
    hour: float,
) -> pd.DataFrame:
    """One row per batch: what was known at `hour` (NaN where nothing was). `recipe` holds the
    batch records' recipe rows (TwinData.recipe)."""
    cube = batch_cube(trajectory, process, batch_ids)
    upto = cube[:, : round(hour / process.grid_step_h) + 1, :]
    out = pd.DataFrame(index=pd.Index(batch_ids, name="batch_id"))
    window = max(3, round(SLOPE_WINDOW_H / process.grid_step_h))
    with np.errstate(invalid="ignore"), quiet_empty_slices():
        for j, parameter in enumerate(process.parameters):
            series = upto[:, :, j]
            out[f"{parameter}__mean"] = np.nanmean(series, axis=1)
            out[f"{parameter}__last"] = [_last_mean(row) for row in series]
            out[f"{parameter}__logslope"] = [
                _log_slope(row[-window:], process.grid_step_h) for row in series
            ]
    known = labs[(labs["batch_id"].isin(batch_ids)) & (labs["elapsed_h"] <= hour)]
    latest = known.sort_values("elapsed_h").groupby(["batch_id", "parameter_id"])["value"].last()
    for parameter in sorted(latest.index.get_level_values("parameter_id").unique()):
        if parameter == process.outcome_parameter_id:
            continue  # the outcome itself is measured at the end
        out[f"lab__{parameter}"] = latest.xs(parameter, level="parameter_id").reindex(batch_ids)
    planned = recipe_at(recipe, hour).reindex(batch_ids)
    for column in process.recipe_parameters:
        if column in planned:
            out[f"setpoint__{column}"] = pd.to_numeric(planned[column], errors="coerce").to_numpy()
    hours = planned_hours(recipe).reindex(batch_ids)
    if hours.notna().any():
        # growth rate now × planned culture hours: the exponent of growth still to come
        for column in [c for c in out.columns if c.endswith("__logslope")]:
            out[f"{column}_x_harvest_h"] = out[column] * hours.to_numpy()
    # growth is multiplicative: the log of every positive value is a feature too
    logs = {f"{c}__log": np.log(out[c].where(out[c] > 0)) for c in out.columns}
    return pd.concat([out, pd.DataFrame(logs, index=out.index)], axis=1)


def recipe_at(recipe: pd.DataFrame, hour: float) -> pd.DataFrame:
    """Each batch's recipe as known at `hour`: the actual value where the batch record had
    written it by then, else the set-point (known from the start); the mean over phases.
    One column per parameter, indexed by batch_id."""
    if recipe.empty:
        return pd.DataFrame()
    actual = recipe["actual"] if "actual" in recipe else pd.Series(np.nan, index=recipe.index)
    written = recipe["recorded_h"] <= hour if "recorded_h" in recipe else False
    known = recipe.assign(value=actual.where(written & actual.notna(), recipe["setpoint"]))
    return known.pivot_table(index="batch_id", columns="parameter_id", values="value")


def planned_hours(recipe: pd.DataFrame) -> pd.Series:
    """Planned culture hours per batch (batch_features.planned_duration_h, a set-point: known
    from the start), indexed by batch_id; empty where the process has no duration parameter."""
    if recipe.empty or "planned_duration_h" not in recipe:
        return pd.Series(dtype=float)
    return recipe.groupby("batch_id")["planned_duration_h"].first().astype(float)


def _log_slope(row: np.ndarray, step_h: float) -> float:
    """Slope of log(value) per hour over the window (specific rate: growth, uptake); NaN when
    fewer than 3 values or any is not positive."""
    seen = ~np.isnan(row)
    if seen.sum() < 3 or np.any(row[seen] <= 0):
        return np.nan
    hours = np.flatnonzero(seen) * step_h
    return float(np.polyfit(hours, np.log(row[seen]), 1)[0])


def _last_mean(row: np.ndarray) -> float:
    seen = row[~np.isnan(row)]
    return float(seen[-LAST_STEPS:].mean()) if len(seen) else np.nan


def _pipeline():
    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        RidgeCV(alphas=ALPHAS),
    )


def _usable(x: pd.DataFrame) -> list[str]:
    """Columns with at least one value (an all-empty column carries nothing)."""
    return [c for c in x.columns if x[c].notna().any()]


@dataclass(frozen=True)
class Forecaster:
    """A fitted model for one checkpoint: point forecast and conformal half-width (log)."""

    hour: float
    columns: list[str]
    model: object
    half_width: float  # in log space
    n_train: int
    log_range: tuple[float, float]  # forecasts stay near the training outcomes (CLIP_LOG)

    def predict(self, x: pd.DataFrame) -> pd.DataFrame:
        log_pred = np.clip(self.model.predict(x.reindex(columns=self.columns)), *self.log_range)
        return pd.DataFrame(
            {
                "predicted": np.exp(log_pred),
                "lower": np.exp(log_pred - self.half_width),
                "upper": np.exp(log_pred + self.half_width),
            },
            index=x.index,
        )


def _conformal_quantile(residuals: np.ndarray, coverage: float) -> float:
    n = len(residuals)
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    return float(np.quantile(np.abs(residuals), level, method="higher"))


def fit_forecaster(x: pd.DataFrame, y: np.ndarray, hour: float) -> Forecaster:
    """Fit on completed batches (rows of x, outcomes y > 0); the interval's half-width is the
    conformal quantile of out-of-fold residuals (5-fold, each batch held out once)."""
    columns = _usable(x)
    log_y = np.log(y)
    folds = KFold(n_splits=min(5, len(y)), shuffle=True, random_state=0)
    residuals = np.empty(len(y))
    for train, test in folds.split(x):
        model = _pipeline().fit(x.iloc[train][columns], log_y[train])
        residuals[test] = log_y[test] - model.predict(x.iloc[test][columns])
    model = _pipeline().fit(x[columns], log_y)
    half_width = _conformal_quantile(residuals, COVERAGE)
    log_range = (float(log_y.min()) - CLIP_LOG, float(log_y.max()) + CLIP_LOG)
    return Forecaster(hour, columns, model, half_width, len(y), log_range)


@dataclass(frozen=True)
class CheckpointMetrics:
    hour: float
    share: float
    n_batches: int
    mape: float
    rmse: float
    coverage: float
    naive_mape: float
    naive_rmse: float
    naive_coverage: float
    width: float  # median width of the 90 % interval, outcome unit
    naive_width: float  # median width of the naive forecast's 5-95 % range

    @property
    def mape_reduction(self) -> float:
        return 1.0 - self.mape / self.naive_mape


def cross_validate(
    process: Process,
    batch_ids: list[str],
    outcomes: np.ndarray,
    trajectory: pd.DataFrame,
    labs: pd.DataFrame,
    recipe: pd.DataFrame,
    folds: int = 5,
) -> tuple[list[CheckpointMetrics], pd.DataFrame]:
    """Grouped K-fold (a batch is one group: never in training and test at once) per
    checkpoint; returns metrics and the held-out predictions."""
    groups = np.array(batch_ids)
    rows = []
    metrics = []
    for share, hour in zip((0.2, 0.4, 0.6, 0.8), process.checkpoint_hours(), strict=True):
        x = features_at(process, batch_ids, trajectory, labs, recipe, hour)
        pred = np.empty(len(batch_ids))
        lower, upper = np.empty(len(batch_ids)), np.empty(len(batch_ids))
        naive, naive_lo, naive_hi = (np.empty(len(batch_ids)) for _ in range(3))
        splitter = GroupKFold(n_splits=min(folds, len(batch_ids)))
        for train, test in splitter.split(x, outcomes, groups):
            model = fit_forecaster(x.iloc[train], outcomes[train], hour)
            out = model.predict(x.iloc[test])
            pred[test], lower[test], upper[test] = out["predicted"], out["lower"], out["upper"]
            naive[test] = outcomes[train].mean()
            naive_lo[test], naive_hi[test] = np.quantile(outcomes[train], [0.05, 0.95])
        metrics.append(
            CheckpointMetrics(
                hour=hour,
                share=share,
                n_batches=len(batch_ids),
                mape=_mape(outcomes, pred),
                rmse=_rmse(outcomes, pred),
                coverage=float(np.mean((outcomes >= lower) & (outcomes <= upper))),
                naive_mape=_mape(outcomes, naive),
                naive_rmse=_rmse(outcomes, naive),
                naive_coverage=float(np.mean((outcomes >= naive_lo) & (outcomes <= naive_hi))),
                width=float(np.median(upper - lower)),
                naive_width=float(np.median(naive_hi - naive_lo)),
            )
        )
        rows.append(
            pd.DataFrame(
                {
                    "batch_id": batch_ids,
                    "checkpoint_h": hour,
                    "actual": outcomes,
                    "predicted": pred,
                    "lower": lower,
                    "upper": upper,
                    "naive": naive,
                }
            )
        )
    return metrics, pd.concat(rows, ignore_index=True)


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(100.0 * np.mean(np.abs(actual - predicted) / np.abs(actual)))


def _rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))
