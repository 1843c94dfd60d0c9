"""Mechanistic what-if: a logistic growth model with Monod glucose limitation, per process.

    dX/dt = (mu_max · G/(Ks+G) · (1 − X/X_max) − k_d − k_L · max(L − L_crit, 0) − D) · X
    dG/dt = −q · X · G/(Ks+G) + D · (G_feed − G),        D = feed rate / volume
    dL/dt = Y_L · q · X · G/(Ks+G) − D · L

X is the viable cell density (1e6 cells/mL, the `vcd_online` trajectory), G glucose and L
lactate (g/L, lab results); volume and feed rate come from the batch's own trajectories. The
constants are
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
from scipy.sparse import block_diag

from twin.data import batch_cube
from twin.process import GROWTH_DENSITY, GROWTH_VOLUME, Process

NAMES = ("mu_max", "x_max", "k_d", "ks", "q", "g_feed", "y_l", "k_l", "l_crit")
START = np.array([0.04, 10.0, 0.002, 0.3, 0.02, 15.0, 0.8, 0.005, 2.0])
LOWER = np.array([1e-3, 0.5, 1e-5, 1e-3, 1e-4, 0.5, 0.05, 1e-5, 0.1])
UPPER = np.array([0.3, 200.0, 0.2, 10.0, 0.5, 100.0, 3.0, 0.5, 10.0])
SUBSTEPS = 2
NEEDS = (GROWTH_DENSITY, GROWTH_VOLUME, "feed_rate")
BOOTSTRAP = 10
LAB_WEIGHT = 0.3  # one g/L of glucose or lactate weighs like 0.3 in log density


@dataclass(frozen=True)
class BatchInputs:
    """One batch in culture time: step 0 is the first step with a cell density."""

    batch_id: str
    x: np.ndarray  # observed viable density per culture step (NaN where none)
    glucose: np.ndarray  # observed glucose per culture step (NaN where none)
    lactate: np.ndarray  # observed lactate per culture step (NaN where none)
    volume: np.ndarray  # L per culture step
    feed: np.ndarray  # mL/h per culture step
    g0: float  # glucose at culture start (first result in culture, else the process median)
    l0: float  # lactate likewise


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
    out = []
    for b, batch in enumerate(batch_ids):
        x = cube[b, :, idx["vcd_online"]]
        seen = np.flatnonzero(~np.isnan(x))
        if len(seen) < 3:
            continue
        s, e = seen[0], seen[-1] + 1
        glucose = _lab_series(labs, batch, "glucose", s, e, step)
        lactate = _lab_series(labs, batch, "lactate", s, e, step)
        out.append(
            BatchInputs(
                batch_id=batch,
                x=x[s:e],
                glucose=glucose,
                lactate=lactate,
                volume=_filled(cube[b, s:e, idx["culture_volume"]]),
                feed=np.nan_to_num(_filled(cube[b, s:e, idx["feed_rate"]]), nan=0.0),
                g0=_first(glucose, labs, "glucose", 5.0),
                l0=_first(lactate, labs, "lactate", 0.2),
            )
        )
    return out


def _lab_series(
    labs: pd.DataFrame, batch: str, parameter: str, start: int, end: int, step: float
) -> np.ndarray:
    """A lab parameter of one batch on the culture steps (NaN where not sampled)."""
    out = np.full(end - start, np.nan)
    rows = labs[(labs["batch_id"] == batch) & (labs["parameter_id"] == parameter)]
    k = np.rint(rows["elapsed_h"].to_numpy() / step).astype(int) - start
    inside = (k >= 0) & (k < end - start)
    out[k[inside]] = rows["value"].to_numpy()[inside]
    return out


def _first(series: np.ndarray, labs: pd.DataFrame, parameter: str, default: float) -> float:
    """The first value in culture, else the process median, else `default`."""
    seen = series[~np.isnan(series)]
    if len(seen):
        return float(seen[0])
    values = labs.loc[labs["parameter_id"] == parameter, "value"]
    return float(values.median()) if len(values) else default


def _filled(series: np.ndarray) -> np.ndarray:
    """Carry the last value forward (and the first backward) over gaps."""
    s = pd.Series(series).ffill().bfill()
    return s.to_numpy(dtype=float)


def simulate(
    params: np.ndarray,
    start: np.ndarray,
    volume: np.ndarray,
    feed: np.ndarray,
    step_h: float,
) -> np.ndarray:
    """X, G, L per step for batches in columns: `start` [3, batch] (X0, G0, L0), inputs
    [step, batch]; returns [3, step, batch]. `params` may also hold several sets of
    constants in columns ([constant, set]): then every set runs every batch at once and the
    result is [3, step, set, batch] (what a finite-difference Jacobian or a bootstrap needs,
    for about the cost of one run: the loop is over time, the arithmetic over arrays).
    Explicit Euler with SUBSTEPS per grid step (rates ~0.05/h, steps ≤ 1 h: stable and
    accurate enough)."""
    many = params.ndim == 2
    p = params[:, :, None] if many else params  # constants broadcast over [set, batch]
    mu_max, x_max, k_d, ks, q, g_feed, y_l, k_l, l_crit = p
    n = volume.shape[0]
    shape = (params.shape[1], volume.shape[1]) if many else volume.shape[1:]
    out = np.empty((3, n, *shape))
    xi, gi, li = (np.broadcast_to(start[i].astype(float), shape).copy() for i in range(3))
    out[:, 0] = xi, gi, li
    dt = step_h / SUBSTEPS
    dilution = feed / 1000.0 / np.maximum(volume, 1e-6)
    for k in range(n - 1):
        d = dilution[k]
        for _ in range(SUBSTEPS):
            monod = gi / (ks + gi)
            uptake = q * xi * monod
            death = k_d + k_l * np.maximum(li - l_crit, 0.0)
            growth = mu_max * monod * (1.0 - xi / x_max)
            xi = np.maximum(xi + dt * (growth - death - d) * xi, 1e-6)
            gi = np.maximum(gi + dt * (-uptake + d * (g_feed - gi)), 0.0)
            li = np.maximum(li + dt * (y_l * uptake - d * li), 0.0)
        out[0, k + 1], out[1, k + 1], out[2, k + 1] = xi, gi, li
    return out


def _stack(batches: list[BatchInputs]) -> dict[str, np.ndarray]:
    n = max(len(b.x) for b in batches)

    def pad(name: str) -> np.ndarray:
        out = np.full((n, len(batches)), np.nan)
        for j, b in enumerate(batches):
            out[: len(b.x), j] = getattr(b, name)
        return out

    stacked = {name: pad(name) for name in ("x", "glucose", "lactate", "volume", "feed")}
    stacked["volume"] = pd.DataFrame(stacked["volume"]).ffill().to_numpy()
    stacked["feed"] = np.nan_to_num(stacked["feed"], nan=0.0)
    stacked["start"] = np.array([[b.x[0], b.g0, b.l0] for b in batches]).T
    return stacked


def _residuals_of_sets(
    log_params: np.ndarray, data: dict[str, np.ndarray], step_h: float, weights: np.ndarray
) -> np.ndarray:
    """Weighted residuals [set, residual] of several sets of log constants ([set, constant]),
    every batch simulated under every set in one run. `weights` [set, batch] says how often a
    set's fit counts each batch (1 for the fit itself, the resampling count for a bootstrap)."""
    sim = simulate(np.exp(log_params).T, data["start"], data["volume"], data["feed"], step_h)
    root = np.sqrt(weights)[None, :, :]  # over [step, set, batch]
    x = data["x"]
    residuals = (
        (np.log(np.maximum(sim[0], 1e-6)) - np.log(np.maximum(x, 1e-6))[:, None, :], x),
        (LAB_WEIGHT * (sim[1] - data["glucose"][:, None, :]), data["glucose"]),
        (LAB_WEIGHT * (sim[2] - data["lactate"][:, None, :]), data["lactate"]),
    )
    # [set, observed point]: each set's residuals where something was observed
    return np.concatenate(
        [(root * r).transpose(1, 0, 2)[:, ~np.isnan(observed)] for r, observed in residuals],
        axis=1,
    )


def _fit_sets(
    data: dict[str, np.ndarray],
    step_h: float,
    start: np.ndarray,
    weights: np.ndarray,
    max_nfev: int = 200,
) -> np.ndarray:
    """Fit several independent sets of constants at once ([set, constant]): one least-squares
    problem whose Jacobian is block-diagonal, each block by forward differences. Every
    residual and every difference quotient of every set comes from one vectorised run."""
    n_sets, n_par = weights.shape[0], len(NAMES)
    lower, upper = np.log(LOWER), np.log(UPPER)
    x0 = np.log(np.clip(start, LOWER * 1.01, UPPER * 0.99)).reshape(-1)

    def fun(x: np.ndarray) -> np.ndarray:
        return _residuals_of_sets(x.reshape(n_sets, n_par), data, step_h, weights).reshape(-1)

    def jac(x: np.ndarray) -> np.ndarray:
        base = x.reshape(n_sets, n_par)
        h = np.sqrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(base))
        h = np.where(base + h > upper, -h, h)  # stay inside the bounds, as least_squares does
        probes = np.repeat(base[:, None, :], n_par + 1, axis=1)  # [set, probe, constant]
        probes[:, 1:, :] += np.eye(n_par)[None] * h[:, None, :]
        r = _residuals_of_sets(
            probes.reshape(-1, n_par), data, step_h, np.repeat(weights, n_par + 1, axis=0)
        ).reshape(n_sets, n_par + 1, -1)
        blocks = (r[:, 1:, :] - r[:, :1, :]) / h[:, :, None]  # [set, constant, residual]
        if n_sets == 1:
            return blocks[0].T
        # the sets are independent: a sparse block-diagonal Jacobian (a dense one made the
        # solver's factorisation, not the model, the cost of a bootstrap)
        return block_diag([b.T for b in blocks], format="csr")

    result = least_squares(
        fun,
        x0,
        jac=jac,
        bounds=(np.tile(lower, n_sets), np.tile(upper, n_sets)),
        x_scale="jac",
        max_nfev=max_nfev,
        tr_solver="exact" if n_sets == 1 else "lsmr",
    )
    return np.exp(result.x.reshape(n_sets, n_par))


def fit(process: Process, batches: list[BatchInputs], seed: int = 0) -> GrowthModel:
    """Fit the constants to all batches, then to bootstrap resamples for their uncertainty
    (all resamples in one vectorised fit, warm-started from the first)."""
    if len(batches) < 3:
        raise ValueError(f"{process.product_id}: the growth model needs at least 3 batches")
    step = process.grid_step_h
    data = _stack(batches)
    n = len(batches)
    params = _fit_sets(data, step, START[None, :], np.ones((1, n)))[0]
    rng = np.random.default_rng(seed)
    # a resample of the batches with replacement is a count per batch
    counts = np.array([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(BOOTSTRAP)])
    samples = _fit_sets(data, step, np.tile(params, (BOOTSTRAP, 1)), counts.astype(float))
    x = simulate(params, data["start"], data["volume"], data["feed"], step)[0]
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


SEEDING_PARAMETER = "seeding_density"  # the recipe parameter a what-if scales the start by


def what_if(
    model: GrowthModel,
    batch: BatchInputs,
    changes: dict[str, float],
    seeding_density_as_run: float | None,
    observed_outcome: float | None = None,
) -> WhatIf:
    """Simulate `batch` as run and with `changes` (`seeding_density` in 1e6 cells/mL, its
    canonical unit in fct_batch_setpoint, `harvest_day` = culture days from culture start):
    the inputs of the logistic-Monod model, which is why they are named here."""
    unknown = set(changes) - {SEEDING_PARAMETER, "harvest_day"}
    if unknown:
        raise ValueError(
            f"cannot change {', '.join(sorted(unknown))}: only seeding_density, harvest_day"
        )
    step = model.process.grid_step_h
    x0 = float(batch.x[0])
    if SEEDING_PARAMETER in changes:
        if not seeding_density_as_run:
            raise ValueError(f"{batch.batch_id}: no seeding density in the batch record to scale")
        x0 *= changes[SEEDING_PARAMETER] / seeding_density_as_run
    n = len(batch.x)
    if "harvest_day" in changes:
        n = max(2, round(changes["harvest_day"] * 24.0 / step) + 1)
    feed = _extend(batch.feed, n)
    volume = np.empty(n)
    volume[: min(n, len(batch.volume))] = batch.volume[: min(n, len(batch.volume))]
    for k in range(len(batch.volume), n):  # beyond the run: the feed keeps filling
        volume[k] = volume[k - 1] + feed[k - 1] * step / 1000.0

    def run(params: np.ndarray, start_x: float, vol: np.ndarray, fed: np.ndarray) -> np.ndarray:
        start = np.array([[start_x], [batch.g0], [batch.l0]])
        return simulate(params, start, vol[:, None], fed[:, None], step)[0, :, 0]

    as_run = run(model.params, float(batch.x[0]), batch.volume, batch.feed)
    changed = run(model.params, x0, volume, feed)
    ensemble = np.array([run(p, x0, volume, feed) for p in model.samples])
    outcomes = ensemble[:, -1] * volume[-1]
    return WhatIf(
        batch_id=batch.batch_id,
        changes=dict(changes),
        hours=np.arange(n) * step,
        x=changed,
        x_band=np.quantile(ensemble, [0.05, 0.95], axis=0),
        outcome=float(changed[-1] * volume[-1]),
        outcome_band=(float(np.quantile(outcomes, 0.05)), float(np.quantile(outcomes, 0.95))),
        as_run_outcome=float(as_run[-1] * batch.volume[-1]),
        observed_outcome=observed_outcome,
    )


def _extend(series: np.ndarray, n: int) -> np.ndarray:
    if n <= len(series):
        return series[:n]
    return np.concatenate([series, np.full(n - len(series), series[-1])])
