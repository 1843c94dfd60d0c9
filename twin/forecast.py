"""Outcome forecast at checkpoints of a running batch, with a conformal prediction interval.

At checkpoint t (a share of the expected duration, snapped to the grid) a batch is described
only by what was known at hour t:
- its recipe: every parameter of kind `recipe` (ref.parameters) its batch record sets, the
  actual value once the record has written it and the set-point before (`recipe_at`), and
  the planned culture length (`batch_features.planned_duration_h`, from the process's
  `duration_parameter_id`);
- per monitored parameter, the mean of its trajectory up to t, its mean over the last three
  observed steps, its specific rate over the last day, and its means over segments of the
  elapsed grid (the trajectory so far, for PLS);
- per lab parameter, the latest result sampled at or before t and its rate since the sample
  before (a result counts from its sample time; docs/twin.md says why);
- per lab quantity a soft sensor estimates (`twin.soft_sensor`), its estimate at t: the
  current value, where the latest result may be a day old (held out for training batches).
Which model maps these to the log of the outcome is chosen per process and checkpoint among
`twin.candidates` by inner cross-validation, the training mean (the naive forecast) where
nothing beats it. The 90 % interval is conformal on the chosen candidate's out-of-fold
residuals, so its coverage holds for exchangeable batches without a distributional assumption.
Metrics come from an outer cross-validation grouped by batch that repeats the choice inside
every fold, against the naive forecast (the training mean, with the training 5–95 % range as
its interval).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold

from twin.candidates import (
    BY_NAME,
    CANDIDATES,
    FALLBACK,
    LAB_RATE_PREFIX,
    SOFT_PREFIX,
    TRAJECTORY_PREFIX,
    Candidate,
)
from twin.data import batch_cube
from twin.nan import quiet_empty_slices
from twin.process import GROWTH_DENSITY, Process
from twin.projection import REMAINING, applies, fit_capacity, remaining_hours, with_projection

COVERAGE = 0.9
INNER_FOLDS = 5
# with fewer training batches no learned model is trusted: inner folds of 2-3 batches cannot
# tell a model from noise (measured: the 12-batch processes lost up to 28 % against naive)
MIN_BATCHES_TO_LEARN = 15
SELECTION_SE = 1.0  # a candidate must beat the training mean by this many standard errors
TRAJECTORY_SEGMENTS = 8  # the trajectory so far, as means over this many stretches (PLS)
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
    soft: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per batch: what was known at `hour` (NaN where nothing was). `recipe` holds the
    batch records' recipe rows (TwinData.recipe), `soft` the soft sensors' estimates
    (twin.soft_sensor rows)."""
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
    for parameter, columns in _lab_features(process, batch_ids, labs, hour).items():
        out[f"lab__{parameter}"] = columns["latest"]
        out[f"{LAB_RATE_PREFIX}{parameter}__rate"] = columns["rate"]
        out[f"{LAB_RATE_PREFIX}{parameter}__logslope"] = columns["logslope"]
    for quantity, estimate in _soft_estimates(soft, batch_ids, hour).items():
        out[f"{SOFT_PREFIX}{quantity}"] = estimate
    planned = recipe_at(recipe, hour).reindex(batch_ids)
    for column in process.recipe_parameters:
        if column in planned:
            out[f"setpoint__{column}"] = pd.to_numeric(planned[column], errors="coerce").to_numpy()
    hours = planned_hours(recipe).reindex(batch_ids)
    if hours.notna().any():
        # growth rate now × planned culture hours: the exponent of growth still to come
        for column in [c for c in out.columns if c.endswith("__logslope")]:
            out[f"{column}_x_harvest_h"] = out[column] * hours.to_numpy()
        if applies(process):  # the growth projection's clock (twin.projection)
            density = upto[:, :, process.parameters.index(GROWTH_DENSITY)]
            out[REMAINING] = remaining_hours(process, density, hours.to_numpy(float), hour)
    # growth is multiplicative: the log of every positive value is a feature too
    logs = {f"{c}__log": np.log(out[c].where(out[c] > 0)) for c in out.columns}
    return pd.concat(
        [out, pd.DataFrame(logs, index=out.index), _trajectory_segments(process, upto, out.index)],
        axis=1,
    )


def _lab_features(
    process: Process, batch_ids: list[str], labs: pd.DataFrame, hour: float
) -> dict[str, dict[str, np.ndarray]]:
    """Per lab quantity sampled by `hour` (not the outcome, measured at the end): its latest
    result, its rate per hour since the sample before and the slope of its log (a specific
    rate: growth, uptake); NaN with one sample."""
    known = labs[(labs["batch_id"].isin(batch_ids)) & (labs["elapsed_h"] <= hour)]
    known = known[known["parameter_id"] != process.outcome_parameter_id]
    ordered = known.sort_values(["batch_id", "parameter_id", "elapsed_h"])
    grouped = ordered.groupby(["batch_id", "parameter_id"])
    last, before = grouped.nth(-1), grouped.nth(-2)
    last = last.set_index(["batch_id", "parameter_id"])
    before = before.set_index(["batch_id", "parameter_id"]).reindex(last.index)
    hours = (last["elapsed_h"] - before["elapsed_h"]).where(lambda h: h > 0)
    rate = (last["value"] - before["value"]) / hours
    positive = (last["value"] > 0) & (before["value"] > 0)
    logslope = (
        np.log(last["value"].where(positive)) - np.log(before["value"].where(positive))
    ) / hours
    out = {}
    for parameter in sorted(last.index.get_level_values("parameter_id").unique()):
        out[parameter] = {
            "latest": last["value"].xs(parameter, level="parameter_id").reindex(batch_ids),
            "rate": rate.xs(parameter, level="parameter_id").reindex(batch_ids),
            "logslope": logslope.xs(parameter, level="parameter_id").reindex(batch_ids),
        }
    return out


def _soft_estimates(
    soft: pd.DataFrame | None, batch_ids: list[str], hour: float
) -> dict[str, np.ndarray]:
    """Per soft-sensed quantity, each batch's latest estimate at or before `hour`."""
    if soft is None or soft.empty:
        return {}
    known = soft[soft["batch_id"].isin(batch_ids) & (soft["elapsed_h"] <= hour + 1e-9)]
    latest = known.sort_values("elapsed_h").groupby(["parameter_id", "batch_id"])["estimate"].last()
    return {
        quantity: latest.xs(quantity).reindex(batch_ids).to_numpy(float)
        for quantity in sorted(known["parameter_id"].unique())
    }


def _trajectory_segments(process: Process, upto: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """The trajectory so far, batch-wise unfolded: per online parameter its mean over each of
    TRAJECTORY_SEGMENTS equal stretches of the elapsed grid (what PLS reads)."""
    bounds = np.linspace(0, upto.shape[1], TRAJECTORY_SEGMENTS + 1).round().astype(int)
    columns = {}
    with np.errstate(invalid="ignore"), quiet_empty_slices():
        for j, parameter in enumerate(process.parameters):
            for s, (a, b) in enumerate(pairwise(bounds)):
                if b > a:
                    columns[f"{TRAJECTORY_PREFIX}{parameter}__{s}"] = np.nanmean(
                        upto[:, a:b, j], axis=1
                    )
    return pd.DataFrame(columns, index=index)


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


def _usable(x: pd.DataFrame) -> list[str]:
    """Columns with at least one value (an all-empty column carries nothing)."""
    return [c for c in x.columns if x[c].notna().any()]


@dataclass(frozen=True)
class Forecaster:
    """The model of one checkpoint: the mean (in log) of its members' forecasts, the conformal
    half-width (log), which candidates it averages (`chosen`, joined by '+') and every
    candidate's inner cross-validated MAPE."""

    hour: float
    chosen: str
    members: list[tuple[list[str], object]]  # (columns read, fitted model) per candidate
    half_width: float  # in log space
    n_train: int
    log_range: tuple[float, float]  # forecasts stay near the training outcomes (CLIP_LOG)
    candidate_mape: dict[str, float]  # inner CV, every candidate that could be fitted
    capacity: float | None = None  # the growth projection's, fitted on the training batches

    @property
    def columns(self) -> list[str]:
        return sorted({c for columns, _ in self.members for c in columns})

    def predict(self, x: pd.DataFrame) -> pd.DataFrame:
        x = with_projection(x, self.capacity)
        logs = [model.predict(x.reindex(columns=columns)) for columns, model in self.members]
        log_pred = np.clip(np.mean(logs, axis=0), *self.log_range)
        return pd.DataFrame(
            {
                "predicted": np.exp(log_pred),
                "lower": np.exp(log_pred - self.half_width),
                "upper": np.exp(log_pred + self.half_width),
            },
            index=x.index,
        )


def conformal_half_width(residuals: np.ndarray, coverage: float = COVERAGE) -> float:
    """The ⌈(n+1)·coverage⌉/n quantile of absolute out-of-fold residuals: a split-conformal
    half-width, covering at least `coverage` of exchangeable new cases."""
    n = len(residuals)
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    return float(np.quantile(np.abs(residuals), level, method="higher"))


def _inner_residuals(
    candidate: Candidate, x: pd.DataFrame, log_y: np.ndarray, log_range: tuple[float, float]
) -> np.ndarray:
    """Out-of-fold log residuals of one candidate over the training batches (inner 5-fold,
    each row one batch, so the folds are grouped by batch)."""
    folds = KFold(n_splits=min(INNER_FOLDS, len(log_y)), shuffle=True, random_state=0)
    residuals = np.empty(len(log_y))
    for train, test in folds.split(x):
        model = candidate.make().fit(x.iloc[train], log_y[train])
        residuals[test] = log_y[test] - np.clip(model.predict(x.iloc[test]), *log_range)
    return residuals


def _paired_margin(error: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the per-batch difference of two candidates' errors."""
    difference = error - other
    se = difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else np.inf
    return float(difference.mean()), float(se)


def _choose(errors: dict[str, np.ndarray]) -> tuple[str, ...]:
    """Which candidates a checkpoint's forecast averages, from each candidate's inner-CV errors
    per batch: every one that beats the training mean by more than SELECTION_SE standard errors
    of the paired per-batch difference; the training mean alone when none does. Averaging
    the clear winners instead of picking the best one keeps the choice from chasing noise:
    with five candidates scored on a few dozen batches, which one scores best in inner folds
    changes from fold to fold, and the best inner score is optimistic."""
    naive = errors[FALLBACK]
    eligible = []
    for name, error in errors.items():
        mean, se = _paired_margin(error, naive)
        if name != FALLBACK and mean + SELECTION_SE * se < 0:
            eligible.append(name)
    return tuple(eligible) or (FALLBACK,)


def _fitted(name: str, x: pd.DataFrame, usable: list[str], log_y: np.ndarray) -> tuple:
    """One candidate fitted on every batch: (the columns it reads, the model)."""
    columns = [c for c in usable if BY_NAME[name].reads(c)]
    return columns, BY_NAME[name].make().fit(x[columns], log_y)


def fit_forecaster(
    x: pd.DataFrame,
    y: np.ndarray,
    hour: float,
    learn: bool = True,
    score_all: bool = True,
    given: tuple[tuple[str, ...], float] | None = None,
) -> Forecaster:
    """Choose and fit the model of one checkpoint on completed batches (rows of x, outcomes
    y > 0). Every candidate (`twin.candidates`) is scored by inner cross-validation; the
    forecast is the mean (in log) of those that clearly beat the training mean, the training
    mean wherever none does, each fitted on all batches (and wherever `learn` is False: the
    checkpoint's learned forecasts lost to it out of fold). The interval's half-width is the
    conformal quantile of that mean's out-of-fold residuals. Where nothing may be learned
    (`learn` False, or fewer than MIN_BATCHES_TO_LEARN batches) the other candidates are scored
    only if `score_all` (the registry's record of the final model; not inside outer folds).
    `given` (candidates, half-width) refits a choice made before on the same batches. The
    growth projection (twin.projection) is a column of its own, its capacity fitted on these
    batches: inner folds share it, held-out batches of an outer fold never inform it."""
    log_y = np.log(y)
    capacity = fit_capacity(x, log_y)
    x = with_projection(x, capacity)
    usable = _usable(x)
    log_range = (float(log_y.min()) - CLIP_LOG, float(log_y.max()) + CLIP_LOG)
    if given is not None:
        members = [_fitted(name, x, usable, log_y) for name in given[0]]
        chosen = "+".join(given[0])
        return Forecaster(hour, chosen, members, given[1], len(y), log_range, {}, capacity)
    may_learn = learn and len(y) >= MIN_BATCHES_TO_LEARN
    scores, residuals, errors = {}, {}, {}
    for candidate in CANDIDATES:
        columns = [c for c in usable if candidate.reads(c)]
        if not columns and candidate.name != FALLBACK:
            continue  # nothing this model reads is known at this checkpoint
        if candidate.name != FALLBACK and not (may_learn or score_all):
            continue
        residuals[candidate.name] = _inner_residuals(candidate, x[columns], log_y, log_range)
        errors[candidate.name] = np.abs(1.0 - np.exp(-residuals[candidate.name]))  # |y - ŷ| / y
        scores[candidate.name] = 100.0 * float(errors[candidate.name].mean())
    chosen = _choose(errors) if may_learn else (FALLBACK,)
    members = [_fitted(name, x, usable, log_y) for name in chosen]
    mean_residuals = np.mean([residuals[name] for name in chosen], axis=0)
    half_width = conformal_half_width(mean_residuals, COVERAGE)
    return Forecaster(
        hour, "+".join(chosen), members, half_width, len(y), log_range, scores, capacity
    )


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
    chosen: dict[str, int] = field(default_factory=dict)  # candidate -> outer folds choosing it
    learned_mape: float = float("nan")  # the learned forecasts' MAPE, before any fallback
    fell_back: bool = False  # the learned forecasts lost to the training mean out of fold

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
    soft: pd.DataFrame | None = None,
) -> tuple[list[CheckpointMetrics], pd.DataFrame]:
    """Grouped K-fold (a batch is one group: never in training and test at once) per
    checkpoint, the choice among candidates repeated inside every fold; returns metrics and
    the held-out predictions. A checkpoint whose learned forecasts lose to the training mean
    out of fold is measured, and deployed, as the training mean (`fell_back`)."""
    groups = np.array(batch_ids)
    splitter = GroupKFold(n_splits=min(folds, len(batch_ids)))
    rows, metrics = [], []
    for share, hour in zip((0.2, 0.4, 0.6, 0.8), process.checkpoint_hours(), strict=True):
        x = features_at(process, batch_ids, trajectory, labs, recipe, hour, soft)
        naive, naive_lo, naive_hi = (np.empty(len(batch_ids)) for _ in range(3))
        for train, test in splitter.split(x, outcomes, groups):
            naive[test] = outcomes[train].mean()
            naive_lo[test], naive_hi[test] = np.quantile(outcomes[train], [0.05, 0.95])
        pred, lower, upper, chosen = _outer(x, outcomes, groups, splitter, hour, learn=True)
        learned_mape = _mape(outcomes, pred)
        fell_back = learned_mape > _mape(outcomes, naive) + 1e-9
        if fell_back:
            pred, lower, upper, chosen = _outer(x, outcomes, groups, splitter, hour, learn=False)
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
                chosen=chosen,
                learned_mape=learned_mape,
                fell_back=fell_back,
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


def _outer(
    x: pd.DataFrame,
    outcomes: np.ndarray,
    groups: np.ndarray,
    splitter: GroupKFold,
    hour: float,
    learn: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Held-out forecasts of every batch (point, lower, upper) and what each fold chose."""
    pred, lower, upper = (np.empty(len(outcomes)) for _ in range(3))
    chosen: Counter[str] = Counter()
    for train, test in splitter.split(x, outcomes, groups):
        model = fit_forecaster(x.iloc[train], outcomes[train], hour, learn, score_all=False)
        chosen[model.chosen] += 1
        out = model.predict(x.iloc[test])
        pred[test], lower[test], upper[test] = out["predicted"], out["lower"], out["upper"]
    return pred, lower, upper, dict(sorted(chosen.items()))


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(100.0 * np.mean(np.abs(actual - predicted) / np.abs(actual)))


def _rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))
