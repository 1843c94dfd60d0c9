"""Mechanistic cell-expansion model that drives the synthetic plant.

A Monod/logistic growth model with glucose uptake, lactate production, feed dilution and
viability decline. Growth responds to the measured temperature, pH and dissolved oxygen, so a
process fault written into the historian also shows in cell counts, metabolites and outcomes:
the outcome follows from the trajectory in a learnable way, not from noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STEP_MIN = 6  # integration step; the 1-minute series are interpolated from it


@dataclass(frozen=True)
class GrowthParams:
    """Kinetic constants of one culture (process defaults times donor/patient variability)."""

    mu_max: float  # 1/h
    x_max: float  # 1e6 cells/mL, carrying capacity
    ks_glucose: float  # g/L
    q_glucose: float  # g/L/h per 1e6 cells/mL at full growth
    y_lactate: float  # g lactate per g glucose
    kd0: float  # 1/h basal death rate
    k_lactate: float  # 1/h per g/L lactate above l_crit
    l_crit: float  # g/L
    feed_glucose: float  # g/L glucose in the feed medium
    lysis: float = 0.002  # 1/h, dead cells that disintegrate


@dataclass(frozen=True)
class CultureStart:
    viable_density: float  # 1e6 cells/mL
    viability: float  # %
    glucose: float  # g/L
    lactate: float  # g/L
    volume: float  # L


@dataclass(frozen=True)
class CultureTrajectory:
    """State at every minute of the culture window (arrays of equal length)."""

    viable_density: np.ndarray
    dead_density: np.ndarray
    glucose: np.ndarray
    lactate: np.ndarray
    volume: np.ndarray

    @property
    def viability(self) -> np.ndarray:
        total = self.viable_density + self.dead_density
        return 100.0 * self.viable_density / np.maximum(total, 1e-12)


def growth_rate_factors(
    temperature: np.ndarray | float, ph: np.ndarray | float, dissolved_oxygen: np.ndarray | float
) -> np.ndarray | float:
    """Multiplicative effect of the culture conditions on the specific growth rate (1 = ideal)."""
    f_t = np.exp(-(((np.asarray(temperature) - 37.0) / 2.0) ** 2))
    f_ph = np.exp(-(((np.asarray(ph) - 7.1) / 0.4) ** 2))
    do = np.maximum(np.asarray(dissolved_oxygen), 0.0)
    f_do = do / (do + 4.0)
    return f_t * f_ph * f_do


def stress_death_rate(
    temperature: np.ndarray | float, dissolved_oxygen: np.ndarray | float
) -> np.ndarray | float:
    """Extra death rate (1/h) from hyperthermia and hypoxia."""
    heat = 0.03 * np.maximum(np.asarray(temperature) - 38.5, 0.0)
    hypoxia = 0.004 * np.maximum(10.0 - np.asarray(dissolved_oxygen), 0.0) / 10.0
    return heat + hypoxia


def simulate_culture(
    params: GrowthParams,
    start: CultureStart,
    temperature: np.ndarray,
    ph: np.ndarray,
    dissolved_oxygen: np.ndarray,
    feed_rate_ml_h: np.ndarray,
    growth_scale: np.ndarray | None = None,
) -> CultureTrajectory:
    """Integrate the model over a culture window given its 1-minute condition series.

    `growth_scale` multiplies the growth rate per minute (e.g. transfection toxicity in vector
    production). Explicit Euler on a 6-minute grid is accurate enough for rates of ~0.03/h and
    keeps the generator fast and bit-for-bit deterministic.
    """
    minutes = len(temperature)
    idx = np.arange(0, minutes, STEP_MIN)
    dt = STEP_MIN / 60.0
    scale = np.ones(minutes) if growth_scale is None else growth_scale
    f_env = growth_rate_factors(temperature[idx], ph[idx], dissolved_oxygen[idx]) * scale[idx]
    kd_env = stress_death_rate(temperature[idx], dissolved_oxygen[idx])
    feed_l_h = feed_rate_ml_h[idx] / 1000.0

    n = len(idx)
    xv = np.empty(n)
    xd = np.empty(n)
    g = np.empty(n)
    lac = np.empty(n)
    vol = np.empty(n)
    xv[0] = start.viable_density
    xd[0] = start.viable_density * (100.0 / start.viability - 1.0)
    g[0], lac[0], vol[0] = start.glucose, start.lactate, start.volume
    p = params
    for k in range(n - 1):
        f_glc = g[k] / (p.ks_glucose + g[k])
        mu = p.mu_max * f_glc * f_env[k] * max(0.0, 1.0 - xv[k] / p.x_max)
        kd = (
            p.kd0
            + p.k_lactate * max(lac[k] - p.l_crit, 0.0)
            + kd_env[k]
            + (0.01 if g[k] < 0.05 else 0.0)
        )
        dilution = feed_l_h[k] / vol[k]
        uptake = p.q_glucose * xv[k] * (0.35 + 0.65 * mu / p.mu_max) * f_glc
        xv[k + 1] = max(xv[k] + dt * ((mu - kd - dilution) * xv[k]), 1e-6)
        xd[k + 1] = max(xd[k] + dt * (kd * xv[k] - (p.lysis + dilution) * xd[k]), 0.0)
        g[k + 1] = max(g[k] + dt * (-uptake + dilution * (p.feed_glucose - g[k])), 0.0)
        lac[k + 1] = max(lac[k] + dt * (p.y_lactate * uptake - dilution * lac[k]), 0.0)
        vol[k + 1] = vol[k] + dt * feed_l_h[k]

    minute = np.arange(minutes)
    return CultureTrajectory(
        viable_density=np.interp(minute, idx, xv),
        dead_density=np.interp(minute, idx, xd),
        glucose=np.interp(minute, idx, g),
        lactate=np.interp(minute, idx, lac),
        volume=np.interp(minute, idx, vol),
    )
