"""Soft sensors: the current value of a lab-measured quantity at every grid step, between lab
samples, estimated from the online signals recorded up to that step.

A lab quantity (cell density, viability, glucose, lactate, titre...) is sampled every 12 or 24
hours; the historian records every minute. Per process and lab quantity that is sampled in
process (at least MIN_SAMPLES_PER_BATCH per batch on average, MIN_SAMPLES in all; not the
outcome), a model maps the online signals up to hour t to the lab value at t:

- per monitored parameter, its last value, its mean over the last TRAILING_H hours and its mean
  since the start (the integral so far, per hour: cumulative feed, oxygen uptake, base added);
- the elapsed hour and the batch record's recipe.

Every feature of step k is computed from steps <= k only: no look-ahead. The model
(`sensor_model`) is the mean of boosted trees and a log-linear ridge on the log of the value
(the quantities grow and decay multiplicatively), its 90 % interval conformal on out-of-fold
residuals. It is scored out of fold (5 folds grouped by batch) against the typical curve: the
mean of the training batches' results at that elapsed hour (binned to the sampling interval),
which is what a process scientist would assume without it. A quantity the online signals do
not explain (its sensor no better than the typical curve out of fold) gets no estimates, only
its registry row saying so; the check warns about it.

A batch the sensor was scored on (a completed batch with lab results) is estimated by the fold
model that did not train on it (`kind` cross_validated), every other batch (running, or without
lab results) by the sensor fitted on all (`kind` live). The outcome forecasts read these
estimates at each checkpoint: a training batch's estimate is then as good as a running batch's,
not fitted to its own lab results (stacking without the optimism of in-sample estimates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone

from twin.data import batch_cube
from twin.forecast import conformal_half_width, recipe_at
from twin.process import Process

MIN_SAMPLES = 40
MIN_SAMPLES_PER_BATCH = 3.0
MIN_BATCHES = 5  # completed batches with samples, as a forecast needs
TRAILING_H = 6.0
FOLDS = 5
COVERAGE = 0.9
CLIP_SPAN = 0.1  # estimates stay within the training values' range, widened by a tenth


def online_features(
    process: Process, batch_ids: list[str], trajectory: pd.DataFrame, recipe: pd.DataFrame
) -> np.ndarray:
    """[batch, step, feature]: at every grid step, what the online signals said up to it
    (last value, trailing mean, mean since the start per parameter), the elapsed hour, and the
    recipe's set-points (known from the start)."""
    cube = batch_cube(trajectory, process, batch_ids)
    seen = ~np.isnan(cube)
    values = np.nan_to_num(cube)
    total, count = np.cumsum(values, axis=1), np.cumsum(seen, axis=1)
    window = max(1, round(TRAILING_H / process.grid_step_h))
    shifted_total = np.concatenate([np.zeros_like(total[:, :window]), total[:, :-window]], axis=1)
    shifted_count = np.concatenate([np.zeros_like(count[:, :window]), count[:, :-window]], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        since_start = np.where(count > 0, total / count, np.nan)
        trailing_count = count - shifted_count
        trailing = np.where(trailing_count > 0, (total - shifted_total) / trailing_count, np.nan)
    last = _forward_filled(cube)
    hours = np.broadcast_to(process.grid[None, :, None], (len(batch_ids), len(process.grid), 1))
    planned = recipe_at(recipe, 0.0).reindex(batch_ids)
    setpoints = (
        planned.to_numpy(dtype=float) if len(planned.columns) else np.empty((len(batch_ids), 0))
    )
    recipe_part = np.broadcast_to(
        setpoints[:, None, :], (len(batch_ids), len(process.grid), setpoints.shape[1])
    )
    return np.concatenate([last, trailing, since_start, hours, recipe_part], axis=2)


def _forward_filled(cube: np.ndarray) -> np.ndarray:
    """Each step's latest value at or before it (NaN before the first)."""
    steps = np.arange(cube.shape[1])[None, :, None]
    latest = np.where(~np.isnan(cube), steps, -1)
    latest = np.maximum.accumulate(latest, axis=1)
    out = np.take_along_axis(cube, np.maximum(latest, 0), axis=1)
    return np.where(latest >= 0, out, np.nan)


def sensed_quantities(process: Process, labs: pd.DataFrame, batch_ids: list[str]) -> list[str]:
    """Lab quantities sampled in process often enough to learn a sensor for."""
    rows = labs[
        labs["batch_id"].isin(batch_ids) & (labs["parameter_id"] != process.outcome_parameter_id)
    ]
    counts = rows.groupby("parameter_id").agg(n=("value", "size"), batches=("batch_id", "nunique"))
    keep = counts[
        (counts["n"] >= MIN_SAMPLES)
        & (counts["batches"] >= MIN_BATCHES)
        & (counts["n"] / counts["batches"] >= MIN_SAMPLES_PER_BATCH)
    ]
    return sorted(keep.index)


@dataclass(frozen=True)
class SensorMetrics:
    parameter_id: str
    n_samples: int
    n_batches: int
    mae: float
    baseline_mae: float  # the typical curve's
    coverage: float  # of the 90 % interval, out of fold
    log_scale: bool = True  # modelled in log (every value positive)

    @property
    def reduction(self) -> float:
        return 1.0 - self.mae / self.baseline_mae if self.baseline_mae > 0 else float("nan")

    @classmethod
    def from_registry(cls, metrics: dict) -> SensorMetrics:
        """The scores a registry row of a sensor holds (twin.pipeline.run_soft_sensors)."""
        return cls(
            parameter_id=str(metrics["parameter_id"]),
            n_samples=int(metrics["n_samples"]),
            n_batches=int(metrics["n_batches"]),
            mae=float(metrics["mae"]),
            baseline_mae=float(metrics["typical_curve_mae"]),
            coverage=float(metrics["coverage_90"]),
            log_scale=bool(metrics["log_scale"]),
        )


def sensor_model() -> RegressorMixin:
    """The mean (in the model's scale) of boosted trees and a ridge on the signals and their
    logs, kept within the training values' range (widened by CLIP_SPAN of it).

    Each member covers the other's weak side. Trees are piecewise constant: from a few hundred
    samples they cannot draw the straight line between a capacitance probe or an oxygen flow
    and the cell count it is proportional to, nor extend it past the values they saw. The
    log-linear ridge draws that line (log of a proportional signal is the log of the count
    plus a constant) but misses thresholds and interactions, which the trees catch. Averaging
    both needs no choice between them, so its out-of-fold score is not optimistic (measured
    on three 80-batch plants, docs/twin.md: the allogeneic cell density of seed 11, 11
    batches, 36 % below the typical curve with trees alone, 46 % averaged). The clip keeps a
    signal outside anything trained on (a probe reading zero in an outage) from driving the
    linear member to an absurd estimate."""
    from sklearn.ensemble import GradientBoostingRegressor, VotingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    # exact boosting: the histogram variant (200 iterations) took 0.9 s a fit against 0.6 s for
    # exact boosting with 150 trees, on 421 samples (one run, busy machine)
    trees = GradientBoostingRegressor(
        n_estimators=100, max_depth=3, learning_rate=0.1, subsample=0.8, random_state=0
    )
    log_linear = make_pipeline(
        FunctionTransformer(_with_logs), StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))
    )
    members = VotingRegressor([("trees", trees), ("log_linear", log_linear)])
    imputer = SimpleImputer(strategy="median", keep_empty_features=True)
    return Clipped(make_pipeline(imputer, members))


def _with_logs(x: np.ndarray) -> np.ndarray:
    """Each feature and log(1 + its value) (negatives as 0: bounded where a signal is 0)."""
    x = np.asarray(x, dtype=float)
    return np.concatenate([x, np.log1p(np.clip(x, 0.0, None))], axis=1)


class Clipped(BaseEstimator, RegressorMixin):
    """A regressor whose predictions stay within its training targets' range, widened on each
    side by CLIP_SPAN of the range."""

    def __init__(self, model: RegressorMixin) -> None:
        self.model = model

    def fit(self, x: np.ndarray, y: np.ndarray) -> Clipped:
        margin = CLIP_SPAN * float(np.ptp(y))
        self.bounds_ = (float(np.min(y)) - margin, float(np.max(y)) + margin)
        self.model_ = clone(self.model).fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.clip(self.model_.predict(x), *self.bounds_)


def _typical_curve(
    hours: np.ndarray, values: np.ndarray, at: np.ndarray, bin_h: float
) -> np.ndarray:
    """The training results' mean by elapsed hour (bins of `bin_h`), read at `at`."""
    bins = np.round(hours / bin_h)
    means = pd.Series(values).groupby(bins).mean()
    return np.interp(np.round(at / bin_h), means.index.to_numpy(float), means.to_numpy(float))


@dataclass(frozen=True)
class Sensor:
    parameter_id: str
    log_scale: bool
    half_width: float
    model: object
    metrics: SensorMetrics
    hours: tuple[float, float]  # the elapsed hours its training samples span: where it estimates


def _samples(
    process: Process, features: np.ndarray, labs: pd.DataFrame, batch_ids: list[str], quantity: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows of one quantity in `labs`: features at the step of each sample (`features` has a
    row per batch of `batch_ids`), value, hour, batch."""
    rows = labs[(labs["parameter_id"] == quantity) & labs["batch_id"].isin(batch_ids)]
    rows = rows[rows["elapsed_h"].between(0, process.grid[-1])]
    index = {b: i for i, b in enumerate(batch_ids)}
    b = rows["batch_id"].map(index).to_numpy()
    k = np.floor(rows["elapsed_h"].to_numpy() / process.grid_step_h).astype(int)
    return features[b, k], rows["value"].to_numpy(float), rows["elapsed_h"].to_numpy(float), b


@dataclass(frozen=True)
class Scored:
    """A sensor's out-of-fold scores, its interval half-width (log where the values are
    positive) and the held-out estimates ([batch, step], in the model's scale: log or not; NaN
    for batches without lab results, which no fold held out)."""

    metrics: SensorMetrics
    half_width: float
    held_out: np.ndarray


def score_sensor(
    process: Process, features: np.ndarray, labs: pd.DataFrame, batch_ids: list[str], quantity: str
) -> Scored:
    """Out-of-fold scores of one quantity's sensor over the samples in `labs` (5 folds grouped
    by batch) against the typical curve, its interval's half-width from the out-of-fold
    residuals, and every held-out batch's estimates at every step by its fold's model."""
    from sklearn.model_selection import GroupKFold

    x, y, hours, groups = _samples(process, features, labs, batch_ids, quantity)
    log_scale = bool(np.all(y > 0))
    target = np.log(y) if log_scale else y
    spacing = float(np.median(np.diff(np.sort(np.unique(np.round(hours))))) or process.grid_step_h)
    bin_h = max(process.grid_step_h, min(24.0, spacing))
    predicted, baseline, residuals = np.empty(len(y)), np.empty(len(y)), np.empty(len(y))
    held_out = np.full(features.shape[:2], np.nan)
    for train, test in GroupKFold(n_splits=min(FOLDS, len(set(groups)))).split(x, y, groups):
        model = sensor_model().fit(x[train], target[train])
        batches = np.unique(groups[test])
        held_out[batches] = _predicted(model, features[batches])
        out = model.predict(x[test])
        residuals[test] = target[test] - out
        predicted[test] = np.exp(out) if log_scale else out
        baseline[test] = _typical_curve(hours[train], y[train], hours[test], bin_h)
    half = conformal_half_width(residuals, COVERAGE)
    lower = np.exp(np.log(predicted) - half) if log_scale else predicted - half
    upper = np.exp(np.log(predicted) + half) if log_scale else predicted + half
    metrics = SensorMetrics(
        parameter_id=quantity,
        n_samples=len(y),
        n_batches=len(set(groups)),
        mae=float(np.mean(np.abs(y - predicted))),
        baseline_mae=float(np.mean(np.abs(y - baseline))),
        coverage=float(np.mean((y >= lower) & (y <= upper))),
        log_scale=log_scale,
    )
    return Scored(metrics, half, held_out)


def _predicted(model, features: np.ndarray) -> np.ndarray:
    """[batch, step]: a model's output at every step of every batch of `features`."""
    flat = features.reshape(-1, features.shape[2])
    return model.predict(flat).reshape(features.shape[:2])


def fit_sensor(
    process: Process,
    features: np.ndarray,
    labs: pd.DataFrame,
    batch_ids: list[str],
    quantity: str,
    scored: Scored | None = None,
) -> Sensor:
    """One quantity's sensor fitted on every sample in `labs`, with its scores (`scored`: the
    scores of the same training, registered before; scored here when None)."""
    scored = scored or score_sensor(process, features, labs, batch_ids, quantity)
    metrics, half = scored.metrics, scored.half_width
    x, y, hours, _ = _samples(process, features, labs, batch_ids, quantity)
    target = np.log(y) if metrics.log_scale else y
    span = (float(hours.min()), float(hours.max()))
    return Sensor(quantity, metrics.log_scale, half, sensor_model().fit(x, target), metrics, span)


def last_steps(process: Process, batch_ids: list[str], trajectory: pd.DataFrame) -> np.ndarray:
    """[batch]: the last grid step each batch has recorded anything at (-1: nothing yet)."""
    seen = ~np.all(np.isnan(batch_cube(trajectory, process, batch_ids)), axis=2)
    steps = np.arange(seen.shape[1])
    return np.where(seen.any(axis=1), np.max(np.where(seen, steps, -1), axis=1), -1)


def estimates(
    sensor: Sensor,
    features: np.ndarray,
    batch_ids: list[str],
    grid: np.ndarray,
    until: np.ndarray,
    held_out: np.ndarray | None = None,
) -> pd.DataFrame:
    """The sensor's estimate with its 90 % interval at every grid step of every batch, up to
    the last step the batch has recorded (`until`, from `last_steps`), within the hours its
    training samples span. A batch with `held_out` estimates (the scoring's, in the model's
    scale) gets those (`kind` cross_validated), every other the fitted sensor's (live)."""
    out = _predicted(sensor.model, features)
    scored = np.zeros(len(batch_ids), dtype=bool)
    if held_out is not None:
        scored = ~np.all(np.isnan(held_out), axis=1)
        out = np.where(scored[:, None], held_out, out)
    out = out.ravel()
    if sensor.log_scale:
        centre = np.exp(out)
        lower, upper = np.exp(out - sensor.half_width), np.exp(out + sensor.half_width)
    else:
        centre, lower, upper = out, out - sensor.half_width, out + sensor.half_width
    steps = np.tile(np.arange(len(grid)), len(batch_ids))
    frame = pd.DataFrame(
        {
            "batch_id": np.repeat(np.array(batch_ids, dtype=object), len(grid)),
            "elapsed_h": grid[steps],
            "parameter_id": sensor.parameter_id,
            "estimate": centre,
            "lower": lower,
            "upper": upper,
            "kind": np.repeat(np.where(scored, "cross_validated", "live"), len(grid)),
        }
    )
    # up to what the batch has recorded, and only over the hours the lab sampled in training:
    # before the first sample (a culture not yet in the bioreactor) it has learnt nothing
    known = (steps <= np.repeat(until, len(grid))) & frame["elapsed_h"].between(*sensor.hours)
    return frame[known].reset_index(drop=True)


def held_out_from(
    rows: pd.DataFrame, batch_ids: list[str], grid: np.ndarray, log_scale: bool
) -> np.ndarray:
    """[batch, step] held-out estimates in the model's scale, back from a previous run's
    cross_validated rows of one sensor (NaN where it published none)."""
    out = np.full((len(batch_ids), len(grid)), np.nan)
    rows = rows[rows["kind"] == "cross_validated"]
    index = {b: i for i, b in enumerate(batch_ids)}
    b = rows["batch_id"].map(index)
    keep = b.notna().to_numpy()
    k = np.searchsorted(grid, rows["elapsed_h"].to_numpy(float)[keep])
    values = rows["estimate"].to_numpy(float)[keep]
    out[b[keep].astype(int).to_numpy(), k] = np.log(values) if log_scale else values
    return out
