"""The growth projection a forecast reads: where this batch's cell density will be at its planned
harvest if it grows on as it grows now, on a logistic curve.

A process whose reference row names a growth model (`ref.processes.mechanistic_model`) grows its
cells on a logistic curve. At a checkpoint the batch's density now (`x0`, the probe's recent
mean), its specific rate over the last day (`r`, the slope of log density) and the culture hours
left until its planned harvest (`dt`: the culture's start, the first hour the probe recorded,
plus the batch record's planned culture hours, minus the checkpoint) give

    mu = r / (1 - x0 / K)          (the rate before crowding slows it)
    x(harvest) = K / (1 + (K / x0 - 1) * exp(-mu * dt))

and the projected outcome is log(x(harvest) * volume now). The carrying capacity K is one
constant per process and checkpoint, fitted on the training batches alone (`fit_capacity`:
the K whose projection, plus one offset, best matches their log outcomes, robustly), so the
held-out batches of a cross-validation never inform it.

Why: the learned candidates (twin.candidates) see the density, its rate and the planned hours as
separate columns. Harvest day, growth rate and saturation combine multiplicatively and
non-linearly; from 40-odd batches a linear model does not find that product, and four slow
batches harvested after 6 culture days (most ran 7) were forecast 27–47 % too high at 40 %
(seed-7 plant, docs/twin.md). The projection
hands the candidates the product a process scientist would compute first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.process import GROWTH_DENSITY, GROWTH_VOLUME, Process

REMAINING = "growth__remaining_h"  # culture hours left until the planned harvest
PROJECTED = "growth__projected_outcome__log"
CAPACITY_GRID = np.geomspace(1.05, 100.0, 60)  # K as multiples of the largest density now
MIN_ROWS = 5
MAX_EXPONENT = 50.0


def applies(process: Process) -> bool:
    """A process whose cells follow a growth model and whose probe and volume are monitored."""
    return bool(process.mechanistic_model) and {GROWTH_DENSITY, GROWTH_VOLUME} <= set(
        process.parameters
    )


def remaining_hours(
    process: Process, density_so_far: np.ndarray, planned_h: np.ndarray, hour: float
) -> np.ndarray:
    """[batch] culture hours from `hour` to the planned harvest: the first grid hour the density
    was recorded, plus the planned culture hours, minus `hour` (never below 0); NaN where the
    culture has not started or no plan is known. `density_so_far` is [batch, step] up to `hour`."""
    seen = ~np.isnan(density_so_far)
    start = np.argmax(seen, axis=1) * process.grid_step_h
    left = np.clip(start + planned_h - hour, 0.0, None)
    return np.where(seen.any(axis=1) & np.isfinite(planned_h), left, np.nan)


def _parts(x: pd.DataFrame) -> tuple[np.ndarray, ...] | None:
    columns = (
        f"{GROWTH_DENSITY}__last",
        f"{GROWTH_DENSITY}__logslope",
        REMAINING,
        f"{GROWTH_VOLUME}__last",
    )
    if not set(columns) <= set(x.columns):
        return None
    return tuple(x[c].to_numpy(dtype=float) for c in columns)


def _projected(parts: tuple[np.ndarray, ...], capacity: float) -> np.ndarray:
    density, rate, left, volume = parts
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mu = rate / np.clip(1.0 - density / capacity, 0.05, None)
        decay = np.exp(np.clip(-mu * left, -MAX_EXPONENT, MAX_EXPONENT))
        at_harvest = capacity / (1.0 + (capacity / density - 1.0) * decay)
        out = np.log(at_harvest * volume)
    usable = (density > 0) & (volume > 0) & np.isfinite(rate) & np.isfinite(left)
    return np.where(usable & np.isfinite(out), out, np.nan)


def fit_capacity(x: pd.DataFrame, log_y: np.ndarray) -> float | None:
    """The carrying capacity whose projection best matches the training outcomes: the least
    mean absolute deviation of log outcome minus projection from its median (one offset takes
    units and what the harvest loses). Absolute, not squared: a batch whose fault came after
    the checkpoint is far below its projection, and a few such batches must not set the
    process's capacity (at 40 % on the seed-7 plant, whose cells saturate near 8, least squares
    chose 6.5–7.5 in the five outer folds, the robust fit 7.6–8.2). None where the features
    hold no projection or fewer than MIN_ROWS batches have one."""
    parts = _parts(x)
    if parts is None:
        return None
    density = parts[0]
    rows = np.isfinite(_projected(parts, 1.0e9))
    if rows.sum() < MIN_ROWS:
        return None
    largest = float(np.nanmax(density[rows]))
    best, best_spread = None, np.inf
    for capacity in largest * CAPACITY_GRID:
        gap = log_y[rows] - _projected(parts, capacity)[rows]
        spread = float(np.mean(np.abs(gap - np.median(gap))))
        if np.isfinite(spread) and spread < best_spread:
            best, best_spread = float(capacity), spread
    return best


def with_projection(x: pd.DataFrame, capacity: float | None) -> pd.DataFrame:
    """`x` with the projected outcome's column (PROJECTED) at `capacity`; `x` unchanged where
    there is no capacity or no projection."""
    parts = _parts(x)
    if capacity is None or parts is None:
        return x
    return x.assign(**{PROJECTED: _projected(parts, capacity)})
