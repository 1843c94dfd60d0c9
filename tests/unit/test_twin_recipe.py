"""The forecast's recipe comes from reference rows and is known only from when it was written."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.forecast import features_at, recipe_at
from twin.process import Process, recipe_parameters

PROCESS = Process(
    product_id="FB-MAB",
    process_type="other",
    expected_duration_h=100.0,
    outcome_parameter_id="titer",
    grid_step_h=1.0,
    parameters=("temperature",),
    recipe_parameters=("inoculum_density", "shift_day"),
)


def _recipe() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "batch_id": ["B1", "B1", "B2", "B2"],
            "parameter_id": ["inoculum_density", "shift_day", "inoculum_density", "shift_day"],
            "setpoint": [0.5, 5.0, 0.4, 6.0],
            "actual": [0.55, 5.0, np.nan, 6.0],
            "recorded_h": [30.0, 0.0, 30.0, 0.0],
            "planned_duration_h": [96.0, 96.0, 120.0, 120.0],
        }
    )


def test_an_actual_counts_only_from_when_the_batch_record_wrote_it() -> None:
    before, after = recipe_at(_recipe(), 29.0), recipe_at(_recipe(), 30.0)
    assert before.loc["B1", "inoculum_density"] == 0.5  # the set-point: the actual is not known
    assert after.loc["B1", "inoculum_density"] == 0.55
    assert after.loc["B2", "inoculum_density"] == 0.4  # no actual written: the set-point


def test_every_recipe_parameter_of_the_process_is_a_feature_with_no_code() -> None:
    trajectory = pd.DataFrame(
        {
            "batch_id": ["B1"] * 50 + ["B2"] * 50,
            "product_id": "FB-MAB",
            "parameter_id": "temperature",
            "elapsed_h": list(range(50)) * 2,
            "value": 37.0,
        }
    )
    labs = pd.DataFrame({"batch_id": [], "parameter_id": [], "elapsed_h": [], "value": []})
    x = features_at(PROCESS, ["B1", "B2"], trajectory, labs, _recipe(), 40.0)
    assert list(x["setpoint__inoculum_density"]) == [0.55, 0.4]
    assert list(x["setpoint__shift_day"]) == [5.0, 6.0]
    # the planned length (batch_features.planned_duration_h) scales the growth-rate features
    assert "temperature__logslope_x_harvest_h" in x


def test_recipe_parameters_are_the_recipe_kind_rows_most_batches_set() -> None:
    kinds = pd.DataFrame(
        {
            "parameter_id": ["inoculum_density", "shift_day", "temperature", "rare"],
            "kind": ["recipe", "recipe", "process", "recipe"],
        }
    )
    trajectory = pd.DataFrame(
        {"batch_id": ["B1", "B2", "B3"], "product_id": "FB-MAB", "parameter_id": "temperature"}
    )
    setpoints = pd.concat(
        [
            _recipe().assign(batch_id=_recipe()["batch_id"].replace({"B2": "B3"})),
            _recipe().iloc[:2].assign(batch_id="B2"),
            pd.DataFrame({"batch_id": ["B1"], "parameter_id": ["rare"], "setpoint": [1.0]}),
            pd.DataFrame({"batch_id": ["B1"], "parameter_id": ["temperature"], "setpoint": [37.0]}),
        ]
    )
    # temperature is a process parameter, `rare` is set by one batch of three
    assert recipe_parameters(kinds, trajectory, setpoints, "FB-MAB") == (
        "inoculum_density",
        "shift_day",
    )
