"""The twin's quality checks on planted models: worse than naive, too narrow, too loud."""

from __future__ import annotations

import pandas as pd

from twin.checks import (
    forecast_beats_naive,
    forecast_coverage,
    monitoring_false_alarms,
    soft_sensor_quality,
)
from twin.process import NAIVE_FORECAST


def _metric(model: str, hour: float, mape: float, naive: float, coverage: float, n: int = 40):
    return {
        "model": model,
        "checkpoint_h": hour,
        "mape": mape,
        "naive_mape": naive,
        "coverage_90": coverage,
        "n_batches": n,
    }


def test_a_forecast_worse_than_naive_at_one_checkpoint_fails_and_is_named() -> None:
    good = [_metric("f20", 45, 8.0, 10.0, 0.9), _metric("f40", 90, 6.0, 10.0, 0.9)]
    assert forecast_beats_naive(good).passed
    planted = [*good, _metric("f60", 135, 10.5, 10.0, 0.9)]
    verdict = forecast_beats_naive(planted)
    assert not verdict.passed and "f60 at 135 h" in verdict.summary
    assert [r["beats_naive"] for r in verdict.rows] == [True, True, False]
    assert verdict.failing == 1


def test_a_checkpoint_that_fell_back_to_the_training_mean_passes_and_is_counted() -> None:
    fallback = {**_metric("f20", 45, 10.0, 10.0, 0.9), "chosen": NAIVE_FORECAST}
    verdict = forecast_beats_naive([fallback, _metric("f40", 90, 6.0, 10.0, 0.9)])
    assert verdict.passed and "1 of them are the training mean" in verdict.summary


def test_coverage_is_held_to_the_binomial_allowance_of_its_batch_count() -> None:
    # 40 batches: 0.90 - 2·sqrt(0.09/40) = 0.805
    assert forecast_coverage([_metric("f", 45, 1, 2, 0.81, n=40)]).passed
    assert not forecast_coverage([_metric("f", 45, 1, 2, 0.78, n=40)]).passed
    # 10 batches allow more: 0.90 - 0.19 = 0.71
    assert forecast_coverage([_metric("f", 45, 1, 2, 0.78, n=10)]).passed
    # too wide is said too: 54 batches allow at most 0.90 + 0.082
    verdict = forecast_coverage([_metric("f", 45, 1, 2, 1.0, n=54)])
    assert not verdict.passed and "too wide" in verdict.summary


def test_monitoring_that_alarms_on_normal_batches_fails() -> None:
    def monitoring(alarmed: int, normal: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "product_id": "P",
                "batch_id": [f"B{i}" for i in range(normal)],
                "scored_held_out": True,
                "is_first_alarm": [i < alarmed for i in range(normal)],
            }
        )

    # 20 normal batches: at most 0.05 + 2·sqrt(0.0475/20) = 0.147 may alarm (2 of 20)
    assert monitoring_false_alarms(monitoring(2, 20)).passed
    verdict = monitoring_false_alarms(monitoring(4, 20))
    assert not verdict.passed and "P 4/20" in verdict.summary


def test_soft_sensors_out_of_coverage_fail_and_unexplained_quantities_are_named() -> None:
    def sensor(quantity: str, coverage: float, explained: bool) -> dict:
        return {
            "model": f"soft_sensor_{quantity}",
            "parameter_id": quantity,
            "mae_reduction": 0.5 if explained else -0.1,
            "coverage_90": coverage,
            "explained_by_online_data": explained,
            "n_batches": 40,
        }

    good = [sensor("vcd", 0.91, True), sensor("cell_diameter", 0.5, False)]
    verdict = soft_sensor_quality(good)  # an unpublished sensor's coverage does not count
    assert verdict.passed and "not explained by online data: cell_diameter" in verdict.summary
    verdict = soft_sensor_quality([*good, sensor("lactate", 0.70, True)])
    assert not verdict.passed and verdict.failing == 1 and "lactate (0.7)" in verdict.summary
