"""The mechanistic model behaves like a culture: growth on glucose, decline without it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from synthetic.model import CultureStart, GrowthParams, simulate_culture

PARAMS = GrowthParams(
    mu_max=0.03,
    x_max=8.0,
    ks_glucose=0.3,
    q_glucose=0.015,
    y_lactate=0.9,
    kd0=0.0015,
    k_lactate=0.006,
    l_crit=2.0,
    feed_glucose=20.0,
)
START = CultureStart(viable_density=0.5, viability=92.0, glucose=4.5, lactate=0.03, volume=0.6)


def run(
    minutes: int,
    temperature: float = 37.0,
    do: float = 40.0,
    feed: float = 0.0,
    params: GrowthParams = PARAMS,
    start: CultureStart = START,
):
    n = minutes
    return simulate_culture(
        params, start, np.full(n, temperature), np.full(n, 7.1), np.full(n, do), np.full(n, feed)
    )


def test_viable_cells_grow_while_glucose_lasts_then_decline() -> None:
    traj = run(10 * 24 * 60)  # ten days, no feed: glucose runs out
    hourly = traj.viable_density[::60]
    glucose = traj.glucose[::60]
    fed = glucose > 1.0
    assert fed[:48].all(), "glucose should last the first two days"
    assert np.all(np.diff(hourly[fed][:48]) > 0), "cells must grow while glucose lasts"
    exhausted = np.flatnonzero(glucose < 0.05)
    assert len(exhausted) > 0, "without feed the culture must run out of glucose"
    after = hourly[exhausted[0] + 12 :]
    assert after[-1] < hourly[exhausted[0]], "viable cells decline once glucose is gone"
    assert traj.viability[-1] < traj.viability[exhausted[0] * 60]


def test_feed_keeps_the_culture_growing_and_dilutes() -> None:
    unfed = run(8 * 24 * 60)
    fed = run(8 * 24 * 60, feed=3.0)
    assert fed.glucose[-1] > unfed.glucose[-1]
    assert fed.volume[-1] > unfed.volume[-1] == START.volume
    total_fed = fed.viable_density[-1] * fed.volume[-1]
    total_unfed = unfed.viable_density[-1] * unfed.volume[-1]
    assert total_fed > total_unfed


def test_conditions_drive_growth_and_death() -> None:
    ideal = run(4 * 24 * 60)
    hot = run(4 * 24 * 60, temperature=39.8)
    hypoxic = run(4 * 24 * 60, do=2.5)
    assert hot.viable_density[-1] < ideal.viable_density[-1]
    assert hot.viability[-1] < ideal.viability[-1] - 3
    assert hypoxic.viable_density[-1] < ideal.viable_density[-1]


@settings(max_examples=30, deadline=None)
@given(
    mu=st.floats(0.005, 0.06),
    x0=st.floats(0.05, 3.0),
    glucose=st.floats(0.0, 8.0),
    temperature=st.floats(30.0, 42.0),
    do=st.floats(0.0, 120.0),
    feed=st.floats(0.0, 10.0),
)
def test_states_stay_physical(mu, x0, glucose, temperature, do, feed) -> None:
    params = replace(PARAMS, mu_max=mu)
    start = CultureStart(
        viable_density=x0, viability=90.0, glucose=glucose, lactate=0.0, volume=1.0
    )
    traj = run(3 * 24 * 60, temperature, do, feed, params, start)
    for series in (traj.viable_density, traj.dead_density, traj.glucose, traj.lactate):
        assert np.all(np.isfinite(series)) and np.all(series >= 0)
    assert np.all((traj.viability >= 0) & (traj.viability <= 100))
    assert np.all(traj.viable_density <= params.x_max * 1.01 + x0)
    assert np.all(np.diff(traj.volume) >= 0)
