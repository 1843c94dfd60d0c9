"""The forecast of a checkpoint is chosen among candidates by inner cross-validation and falls
back to the training mean when nothing beats it (twin/forecast.py, twin/candidates.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.candidates import CANDIDATES, FALLBACK
from twin.forecast import MIN_BATCHES_TO_LEARN, fit_forecaster


def _features(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "lab__vcd": rng.lognormal(0.0, 0.4, n),
            "temperature__mean": rng.normal(37.0, 0.2, n),
            "setpoint__seeding_density": rng.uniform(0.5, 1.5, n),
            "traj__vcd_online__0": rng.normal(1.0, 0.1, n),
        },
        index=pd.Index([f"B{i:03d}" for i in range(n)], name="batch_id"),
    )


def test_noise_gets_the_training_mean_and_says_so() -> None:
    x = _features(40, seed=1)
    y = np.random.default_rng(2).lognormal(1.0, 0.2, 40)  # unrelated to every feature
    model = fit_forecaster(x, y, hour=90.0)
    assert model.chosen == FALLBACK
    assert set(model.candidate_mape) == {c.name for c in CANDIDATES}
    assert np.allclose(model.predict(x)["predicted"], y.mean())


def test_a_quantity_the_lab_explains_gets_a_learned_model_that_beats_the_mean() -> None:
    x = _features(40, seed=3)
    noise = np.random.default_rng(4).normal(0.0, 0.05, 40)
    y = 2.0 * x["lab__vcd"].to_numpy() ** 1.5 * np.exp(noise)
    model = fit_forecaster(x, y, hour=90.0)
    assert model.chosen != FALLBACK
    for name in model.chosen.split("+"):  # the forecast averages the clear winners
        assert model.candidate_mape[name] < model.candidate_mape[FALLBACK]
    error = np.abs(model.predict(x)["predicted"] / y - 1.0).mean()
    assert error < 0.5 * np.abs(y.mean() / y - 1.0).mean()


def test_too_few_batches_fall_back_whatever_the_features_say() -> None:
    n = MIN_BATCHES_TO_LEARN - 1
    x = _features(n, seed=5)
    y = 2.0 * x["lab__vcd"].to_numpy()
    assert fit_forecaster(x, y, hour=90.0).chosen == FALLBACK
