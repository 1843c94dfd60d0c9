"""The golden batch resists undeclared faults in its reference; controlled variables are judged
against each batch's own set-point."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin import monitoring as mon
from twin.data import TwinData, from_frames, monitoring_cube
from twin.golden import envelope


def _reference(n_batches: int = 9, steps: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, (n_batches, steps, 3))


def test_one_faulted_reference_batch_does_not_widen_the_envelope() -> None:
    cube = _reference()
    clean = envelope(cube)
    cube[0, 10:25, 1] = 40.0  # a pump stopped in one batch; the record calls it no deviation
    faulted = envelope(cube)
    inside = slice(12, 23)
    assert np.all(np.abs(faulted.centre[inside, 1] - clean.centre[inside, 1]) < 1.0)
    assert np.all(faulted.sd[inside, 1] < 1.6 * clean.sd[inside, 1])
    # a mean ± SD would have moved by ~40/9 and widened ~4-fold
    assert np.nanmean(cube[:, inside, 1]) > 4.0


def test_screening_drops_a_held_excursion_and_keeps_a_blip() -> None:
    cube = _reference()
    cube[2, 20 : 20 + mon.CONSECUTIVE, 0] = 15.0  # held for the alarm run length
    cube[5, 30 : 30 + mon.CONSECUTIVE - 1, 2] = 15.0  # one step shorter
    assert mon.screen(cube) == [2]
    _, kept, dropped = mon.fit_cleaned(cube, [f"B{i}" for i in range(len(cube))])
    assert dropped[0] == "B2" and "B2" not in kept and "B5" in kept


def test_screening_keeps_at_least_three_batches() -> None:
    cube = _reference(n_batches=4)
    cube[:2, 5:15, 0] = 30.0 * np.array([[1.0], [-1.0]])
    assert mon.screen(cube) == []


def _trajectory() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "batch_id": ["A", "A", "B", "B", "A", "B"],
            "product_id": "P",
            "parameter_id": ["dissolved_oxygen"] * 4 + ["o2_flow"] * 2,
            "elapsed_h": [0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
            "value": [30.0, 3.0, 50.0, 50.0, 7.0, 8.0],
        }
    )


def _data(setpoints: pd.DataFrame) -> TwinData:
    return from_frames(
        _trajectory(),
        pd.DataFrame({"batch_id": [], "parameter_id": [], "elapsed_h": [], "value": []}),
        pd.DataFrame({"batch_id": ["A", "B", "C"], "product_id": "P"}),
        pd.DataFrame(
            [
                {
                    "product_id": "P",
                    "process_type": "autologous",
                    "expected_duration_h": 2.0,
                    "outcome_parameter_id": "harvest_tvc",
                    "grid_step_h": 1.0,
                }
            ]
        ),
        pd.DataFrame({"parameter_id": ["dissolved_oxygen", "o2_flow"], "kind": "process"}),
        setpoints,
    )


def test_controlled_parameters_are_relative_to_each_batch_setpoint() -> None:
    data = _data(
        pd.DataFrame(
            {"batch_id": ["A", "B"], "parameter_id": "dissolved_oxygen", "setpoint": [30.0, 50.0]}
        )
    )
    process = data.processes["P"]
    assert process.setpoint_parameters == ("dissolved_oxygen",)
    cube = monitoring_cube(data, process, ["A", "B", "C"])
    do = process.parameters.index("dissolved_oxygen")
    o2 = process.parameters.index("o2_flow")
    np.testing.assert_allclose(cube[0, :2, do], [0.0, -0.9])  # A held 30 %, then lost it
    np.testing.assert_allclose(cube[1, :2, do], [0.0, 0.0])  # B held its own 50 %
    assert np.isnan(cube[2]).all()  # C recorded nothing
    np.testing.assert_allclose(cube[:2, 0, o2], [7.0, 8.0])  # no set-point: as measured


def test_a_parameter_set_per_phase_is_monitored_as_measured() -> None:
    data = _data(
        pd.DataFrame(
            {
                "batch_id": ["A", "A", "B"],
                "parameter_id": "dissolved_oxygen",
                "setpoint": [30.0, 40.0, 50.0],
            }
        )
    )
    process = data.processes["P"]
    assert process.setpoint_parameters == ()
    cube = monitoring_cube(data, process, ["A"])
    np.testing.assert_allclose(cube[0, :2, process.parameters.index("dissolved_oxygen")], [30, 3])
