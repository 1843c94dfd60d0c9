"""The growth model's vectorised fit: many sets of constants simulate exactly as one at a
time, and a bootstrap resample given as counts fits like the resampled batches themselves."""

from __future__ import annotations

import numpy as np

from twin import growth

STEP_H = 2.0
TRUE = np.array([0.05, 12.0, 0.003, 0.4, 0.03, 20.0, 0.9, 0.004, 2.5])


def _batches(n: int = 3, steps: int = 60) -> list[growth.BatchInputs]:
    """Batches simulated from known constants, with a little noise on what is observed."""
    rng = np.random.default_rng(7)
    out = []
    for b in range(n):
        volume = np.linspace(1.0, 1.6, steps)
        feed = np.where(np.arange(steps) > 20, 10.0, 0.0)
        start = np.array([[0.3 + 0.1 * b], [6.0], [0.2]])
        sim = growth.simulate(TRUE, start, volume[:, None], feed[:, None], STEP_H)[:, :, 0]
        lab = np.full(steps, np.nan)
        sampled = np.arange(0, steps, 12)
        glucose, lactate = lab.copy(), lab.copy()
        glucose[sampled] = sim[1, sampled] + rng.normal(0, 0.05, len(sampled))
        lactate[sampled] = sim[2, sampled] + rng.normal(0, 0.05, len(sampled))
        out.append(
            growth.BatchInputs(
                batch_id=f"B{b}",
                x=sim[0] * np.exp(rng.normal(0, 0.02, steps)),
                glucose=glucose,
                lactate=lactate,
                volume=volume,
                feed=feed,
                g0=6.0,
                l0=0.2,
            )
        )
    return out


def test_many_sets_of_constants_simulate_exactly_as_each_alone() -> None:
    data = growth._stack(_batches())
    sets = np.stack([TRUE, TRUE * 1.1, TRUE * 0.9], axis=1)  # [constant, set]
    together = growth.simulate(sets, data["start"], data["volume"], data["feed"], STEP_H)
    for k in range(sets.shape[1]):
        alone = growth.simulate(sets[:, k], data["start"], data["volume"], data["feed"], STEP_H)
        assert np.array_equal(together[:, :, k, :], alone)


def _cost(params: np.ndarray, data: dict, weights: np.ndarray) -> float:
    r = growth._residuals_of_sets(np.log(params)[None, :], data, STEP_H, weights[None, :])
    return float(np.sum(r**2))


def test_a_resample_as_counts_fits_like_the_resampled_batches() -> None:
    """A bootstrap draws batches with replacement: counts (2, 1, 0) weigh the residuals as the
    list (B0, B0, B1) repeats them, so both fits reach the same least squares (the constants
    themselves are only as well determined as the data make them), and fitting two resamples
    jointly reaches what each reaches alone."""
    batches = _batches()
    data = growth._stack(batches)
    counts = np.array([2.0, 1.0, 0.0])
    start = growth.START[None, :]
    by_counts = growth._fit_sets(data, STEP_H, start, counts[None, :])[0]
    repeated = growth._stack([batches[0], batches[0], batches[1]])
    by_list = growth._fit_sets(repeated, STEP_H, start, np.ones((1, 3)))[0]
    assert np.isclose(_cost(by_counts, data, counts), _cost(by_list, data, counts), rtol=1e-3)
    assert np.allclose(by_counts[[0, 1, 4]], by_list[[0, 1, 4]], rtol=0.02)  # mu, x_max, q
    ones = np.ones(3)
    alone = growth._fit_sets(data, STEP_H, by_counts[None, :], ones[None, :])[0]
    both = growth._fit_sets(data, STEP_H, np.tile(by_counts, (2, 1)), np.stack([counts, ones]))
    assert np.isclose(_cost(both[0], data, counts), _cost(by_counts, data, counts), rtol=1e-3)
    assert np.isclose(_cost(both[1], data, ones), _cost(alone, data, ones), rtol=1e-3)
    assert _cost(both[1], data, ones) < _cost(growth.START, data, ones) / 10
