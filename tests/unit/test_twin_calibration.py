"""Monitoring limits are set per batch to a false-alarm rate, say so when the reference is too
small, and catch a slow drift that no single step shows (twin/monitoring.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from twin import monitoring as mon

STEPS = 60
PARAMETERS = 4


def _normal(n: int, seed: int) -> np.ndarray:
    """Normal batches: a batch's own offset per parameter plus autocorrelated noise."""
    rng = np.random.default_rng(seed)
    offset = rng.normal(0.0, 0.7, (n, 1, PARAMETERS))
    noise = np.zeros((n, STEPS, PARAMETERS))
    for k in range(1, STEPS):
        noise[:, k] = 0.6 * noise[:, k - 1] + rng.normal(0.0, 0.8, (n, PARAMETERS))
    shared = rng.normal(0.0, 1.0, (n, STEPS, 1)) * np.array([1.0, 0.8, 0.0, 0.0])  # correlated
    return offset + noise + shared


def _alarmed(model: mon.MonitoringModel, cube: np.ndarray) -> np.ndarray:
    return np.array([a is not None for a in mon.first_alarms(model, mon.score(model, cube))])


def test_new_normal_batches_alarm_at_about_the_stated_rate_per_batch() -> None:
    # one reference set's limit scatters (a 95 % tail from 40 batches); over eight reference
    # sets the share of new normal batches that alarm is the stated rate
    rates = []
    for seed in range(8):
        model = mon.fit(_normal(40, seed=100 + seed))
        assert not model.small_reference and "Gumbel" in model.limit_basis
        rates.append(_alarmed(model, _normal(300, seed=500 + seed)).mean())
    allowance = 2.0 * np.sqrt(0.05 * 0.95 / 2400)
    assert 0.0 < np.mean(rates) <= mon.FALSE_ALARM_RATE + allowance, rates


def test_a_small_reference_says_so_and_widens_its_limit() -> None:
    model = mon.fit(_normal(8, seed=3))
    assert model.small_reference and "fewer than 10" in model.limit_basis
    units = tuple(
        limit / model.batch_limit for limit in (model.t2_limit, model.spe_limit, model.drift_limit)
    )
    levels = mon.held_levels(mon._common(model.held_out, units))
    assert model.batch_limit >= levels.max() * mon.SMALL_REFERENCE_WIDEN - 1e-9
    held = mon.first_alarms(model, model.held_out)
    assert held == [None] * 8  # no reference batch alarms against a widened limit


def test_a_slow_drift_alarms_sooner_with_the_drift_statistic_and_names_its_parameter() -> None:
    model = mon.fit(_normal(40, seed=4))
    without = replace(model, drift_limit=np.inf)  # T² and SPE alone
    onset, found, found_without = 10, 0, 0
    for seed in (5, 6, 7, 8):
        batch = _normal(1, seed=seed)
        batch[0, onset:, 2] += 0.1 * np.arange(STEPS - onset)  # 0.1 SD per step
        scores = mon.score(model, batch)
        (alarm,) = mon.first_alarms(model, scores)
        (alone,) = mon.first_alarms(without, scores)
        assert alone is None or (alarm is not None and alarm <= alone)
        found_without += alone is not None
        if alarm is None:
            continue
        found += 1
        assert alarm > onset
        if scores.drift[0, alarm] > model.drift_limit:  # the drift statistic raised it
            top = mon.top_contributors(model, scores, 0, alarm, ("a", "b", "c", "d"))
            assert top[0][0] == "c"
    assert found > found_without


def test_one_spike_does_not_hold_the_drift_statistic_up() -> None:
    model = mon.fit(_normal(40, seed=6))
    batch = _normal(1, seed=7)
    batch[0, 30, 3] = 60.0  # one reading far out: a blip, not a drift
    assert mon.first_alarms(model, mon.score(model, batch)) == [None]
