"""Mechanistic what-if: a logistic growth model with Monod glucose limitation, per process.

    dX/dt = (mu_max · G/(Ks+G) · (1 − X/X_max) − k_d − D) · X
    dG/dt = −q · X · G/(Ks+G) + D · (G_feed − G),        D = feed rate / volume

X is the viable cell density (1e6 cells/mL, the `vcd_online` trajectory), G glucose (g/L, lab
results), volume and feed rate come from the batch's own trajectories. The six constants are
shared by the batches of a process and fitted to them by least squares (log X and G residuals);
their uncertainty comes from refitting on batches resampled with replacement (bootstrap).
The outcome is X · V at harvest (1e6 cells/mL × L = 1e9 cells). A what-if changes the
seeding density (X at culture start, scaled) or the harvest day (culture length; feed held at
its last rate beyond the recorded run) and simulates the batch again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from twin.data import batch_cube
from twin.process import Process

NAMES = ("mu_max", "x_max", "k_d", "ks", "q", "g_feed")
START = np.array([0.04, 10.0, 0.002, 0.3, 0.02, 15.0])
LOWER = np.array([1e-3, 0.5, 1e-5, 1e-3, 1e-4, 0.5])
UPPER = np.array([0.3, 200.0, 0.05, 10.0, 0.5, 100.0])
SUBSTEPS = 4
NEEDS = ("vcd_online", "culture_volume", "feed_rate")
BOOTSTRAP = 20


@dataclass(frozen=True)
class BatchInputs:
    """One batch in culture time: step 0 is the first step with a cell density."""

    batch_id: str
    start_step: int  # grid step of culture start (elapsed from batch start)
    x: np.ndarray  # observed viable density per culture step (NaN where none)
    glucose: np.ndarray  # observed glucose per culture step (NaN where none)
    volume: np.ndarray  # L per culture step
    feed: np.ndarray  # mL/h per culture step
    g0: float  # glucose at culture start (first result in culture, else the process median)


@dataclass(frozen=True)
class GrowthModel:
    process: Process
    params: np.ndarray  # fitted constants, NAMES order
    samples: np.ndarray  # [bootstrap, constant]
    training_batches: tuple[str, ...]
    rmse_log_x: float
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        return dict(zip(NAMES, map(float, self.params), strict=True))


def batch_inputs(
    process: Process, batch_ids: list[str], trajectory: pd.DataFrame, labs: pd.DataFrame
) -> list[BatchInputs]:
    """Culture-time inputs of each batch that has the trajectories the model needs."""
    if not set(NEEDS) <= set(process.parameters):
        raise ValueError(
            f"{process.product_id}: the growth model needs trajectories {', '.join(NEEDS)}"
        )
    cube = batch_cube(trajectory, process, batch_ids)
    idx = {p: process.parameters.index(p) for p in NEEDS}
    step = process.grid_step_h
    glucose_all = labs[labs["parameter_id"] == "glucose"]
    median_g = float(glucose_all["value"].median()) if len(glucose_all) else 5.0
    out = []
    for b, batch in enumerate(batch_ids):
        x = cube[b, :, idx["vcd_online"]]
        seen = np.flatnonzero(~np.isnan(x))
        if len(seen) < 3:
            continue
        s, e = seen[0], seen[-1] + 1
        glucose = np.full(e - s, np.nan)
        g = glucose_all[glucose_all["batch_id"] == batch]
        k = np.rint(g["elapsed_h"].to_numpy() / step).astype(int) - s
        inside = (k >= 0) & (k < e - s)
        glucose[k[inside]] = g["value"].to_numpy()[inside]
        first_g = glucose[~np.isnan(glucose)]
        out.append(
            BatchInputs(
                batch_id=batch,
                start_step=int(s),
                x=x[s:e],
                glucose=glucose,
                volume=_filled(cube[b, s:e, idx["culture_volume"]]),
                feed=np.nan_to_num(_filled(cube[b, s:e, idx["feed_rate"]]), nan=0.0),
                g0=float(first_g[0]) if len(first_g) else median_g,
            )
        )
    return out


def _filled(series: np.ndarray) -> np.ndarray:
    """Carry the last value forward (and the first backward) over gaps."""
    s = pd.Series(series).ffill().bfill()
    return s.to_numpy(dtype=float)


def simulate(
    params: np.ndarray,
    x0: np.ndarray,
    g0: np.ndarray,
    volume: np.ndarray,
    feed: np.ndarray,
    step_h: float,
) -> tuple[np.ndarray, np.ndarray]:
    """X and G per step for batches in columns: inputs [step, batch]; explicit Euler with
    SUBSTEPS per grid step (rates ~0.05/h, steps ≤ 0.5 h: stable and accurate)."""
    mu_max, x_max, k_d, ks, q, g_feed = params
    n = volume.shape[0]
    x = np.empty_like(volume)
    g = np.empty_like(volume)
    x[0], g[0] = x0, g0
    dt = step_h / SUBSTEPS
    dilution = feed / 1000.0 / np.maximum(volume, 1e-6)
    xi, gi = x0.astype(float).copy(), g0.astype(float).copy()
    for k in range(n - 1):
        d = dilution[k]
        for _ in range(SUBSTEPS):
            monod = gi / (ks + gi)
            growth = mu_max * monod * (1.0 - xi / x_max)
            xi = np.maximum(xi + dt * (growth - k_d - d) * xi, 1e-6)
            gi = np.maximum(gi + dt * (-q * xi * monod + d * (g_feed - gi)), 0.0)
        x[k + 1], g[k + 1] = xi, gi
    return x, g


def _stack(batches: list[BatchInputs]) -> dict[str, np.ndarray]:
    n = max(len(b.x) for b in batches)

    def pad(name: str) -> np.ndarray:
        out = np.full((n, len(batches)), np.nan)
        for j, b in enumerate(batches):
            out[: len(b.x), j] = getattr(b, name)
        return out

    stacked = {name: pad(name) for name in ("x", "glucose", "volume", "feed")}
    stacked["volume"] = pd.DataFrame(stacked["volume"]).ffill().to_numpy()
    stacked["feed"] = np.nan_to_num(stacked["feed"], nan=0.0)
    stacked["x0"] = np.array([b.x[0] for b in batches])
    stacked["g0"] = np.array([b.g0 for b in batches])
    return stacked


def _residuals(log_params: np.ndarray, data: dict[str, np.ndarray], step_h: float) -> np.ndarray:
    params = np.exp(log_params)
    x, g = simulate(params, data["x0"], data["g0"], data["volume"], data["feed"], step_h)
    rx = np.log(np.maximum(x, 1e-6)) - np.log(np.maximum(data["x"], 1e-6))
    rg = (g - data["glucose"]) / 1.0  # g/L: one g/L weighs like a factor e in density
    out = np.concatenate([rx[~np.isnan(data["x"])], 0.3 * rg[~np.isnan(data["glucose"])]])
    return out


def _fit_params(batches: list[BatchInputs], step_h: float, start: np.ndarray) -> np.ndarray:
    data = _stack(batches)
    result = least_squares(
        _residuals,
        np.log(start),
        bounds=(np.log(LOWER), np.log(UPPER)),
        args=(data, step_h),
        x_scale="jac",
        max_nfev=200,
    )
    return np.exp(result.x)


def fit(process: Process, batches: list[BatchInputs], seed: int = 0) -> GrowthModel:
    """Fit the constants to all batches, then to bootstrap resamples for their uncertainty."""
    if len(batches) < 3:
        raise ValueError(f"{process.product_id}: the growth model needs at least 3 batches")
    step = process.grid_step_h
    params = _fit_params(batches, step, START)
    rng = np.random.default_rng(seed)
    samples = np.array(
        [
            _fit_params(
                [batches[i] for i in rng.integers(0, len(batches), len(batches))], step, params
            )
            for _ in range(BOOTSTRAP)
        ]
    )
    data = _stack(batches)
    x, _ = simulate(params, data["x0"], data["g0"], data["volume"], data["feed"], step)
    seen = ~np.isnan(data["x"])
    rmse = float(
        np.sqrt(np.mean((np.log(x[seen]) - np.log(np.maximum(data["x"][seen], 1e-6))) ** 2))
    )
    return GrowthModel(process, params, samples, tuple(b.batch_id for b in batches), rmse)


@dataclass(frozen=True)
class WhatIf:
    batch_id: str
    changes: dict[str, float]
    hours: np.ndarray  # culture hours of the changed run
    x: np.ndarray  # simulated density of the changed run, fitted constants
    x_band: np.ndarray  # [2, step] 5 % and 95 % over the bootstrap constants
    outcome: float  # 1e9 cells, changed run
    outcome_band: tuple[float, float]
    as_run_outcome: float  # simulated, as run
    observed_outcome: float | None  # recorded in the batch record / LIMS


def what_if(
    model: GrowthModel,
    batch: BatchInputs,
    changes: dict[str, float],
    seeding_density_as_run: float | None,
    observed_outcome: float | None = None,
) -> WhatIf:
    """Simulate `batch` as run and with `changes` (`seeding_density` in the batch record's
    unit, `harvest_day` = culture days from culture start)."""
    unknown = set(changes) - {"seeding_density", "harvest_day"}
    if unknown:
        raise ValueError(
            f"cannot change {', '.join(sorted(unknown))}: only seeding_density, harvest_day"
        )
    step = model.process.grid_step_h
    x0 = float(batch.x[0])
    if "seeding_density" in changes:
        if not seeding_density_as_run:
            raise ValueError(f"{batch.batch_id}: no seeding density in the batch record to scale")
        x0 *= changes["seeding_density"] / seeding_density_as_run
    n = len(batch.x)
    if "harvest_day" in changes:
        n = max(2, round(changes["harvest_day"] * 24.0 / step) + 1)
    feed = _extend(batch.feed, n)
    volume = np.empty(n)
    volume[: min(n, len(batch.volume))] = batch.volume[: min(n, len(batch.volume))]
    for k in range(len(batch.volume), n):  # beyond the run: the feed keeps filling
        volume[k] = volume[k - 1] + feed[k - 1] * step / 1000.0

    def run(params: np.ndarray, start_x: float, steps: int) -> np.ndarray:
        x, _ = simulate(
            params,
            np.array([start_x]),
            np.array([batch.g0]),
            volume[:steps, None],
            feed[:steps, None],
            step,
        )
        return x[:, 0]

    as_run = run(model.params, float(batch.x[0]), len(batch.x))
    changed = run(model.params, x0, n)
    ensemble = np.array([run(p, x0, n) for p in model.samples])
    outcomes = ensemble[:, -1] * volume[n - 1]
    return WhatIf(
        batch_id=batch.batch_id,
        changes=dict(changes),
        hours=np.arange(n) * step,
        x=changed,
        x_band=np.quantile(ensemble, [0.05, 0.95], axis=0),
        outcome=float(changed[-1] * volume[n - 1]),
        outcome_band=(float(np.quantile(outcomes, 0.05)), float(np.quantile(outcomes, 0.95))),
        as_run_outcome=float(as_run[-1] * batch.volume[len(batch.x) - 1]),
        observed_outcome=observed_outcome,
    )


def _extend(series: np.ndarray, n: int) -> np.ndarray:
    if n <= len(series):
        return series[:n]
    return np.concatenate([series, np.full(n - len(series), series[-1])])
