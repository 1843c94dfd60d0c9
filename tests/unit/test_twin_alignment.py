"""Batches of unequal length are monitored on an aligned grid (twin/alignment.py): a batch
stretched in time gets the verdict of its unstretched twin, online, without look-ahead."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from twin.alignment import to_aligned, to_elapsed
from twin.data import from_frames
from twin.pipeline import run_monitoring

TEMPLATE_SHIFT_H = 50.0  # the median batch shifts its temperature at 50 h and ends at 100 h


def _batch(batch_id: str, stretch: float, seed: int, fault: bool = False) -> pd.DataFrame:
    """One batch: the template run `stretch` times slower (its shift and end planned so), with
    its own noise; a fault is a DO loss over template hours 70-80."""
    rng = np.random.default_rng(seed)
    hours = np.arange(0.0, 100.0 * stretch + 0.5, 1.0)
    template = hours / stretch
    temperature = np.where(template < TEMPLATE_SHIFT_H, 37.0, 33.0) + rng.normal(
        0, 0.05, len(hours)
    )
    growth = 0.5 * np.exp(0.03 * template) + rng.normal(0, 0.05, len(hours))
    oxygen = 40.0 + rng.normal(0, 1.0, len(hours))
    if fault:
        oxygen[(template >= 70) & (template < 80)] = 5.0
    frames = [
        pd.DataFrame({"parameter_id": name, "elapsed_h": hours, "value": values})
        for name, values in (("temperature", temperature), ("vcd_online", growth), ("do", oxygen))
    ]
    return pd.concat(frames).assign(batch_id=batch_id, product_id="P")


def _data(test_batches: list[tuple[str, float, bool]]):
    stretches = {f"R{i:02d}": s for i, s in enumerate(np.linspace(0.8, 1.2, 24))}
    rows = [_batch(b, s, seed=i) for i, (b, s) in enumerate(stretches.items())]
    rows += [_batch(b, s, seed=100 + i, fault=f) for i, (b, s, f) in enumerate(test_batches)]
    every = {**stretches, **{b: s for b, s, _ in test_batches}}
    features = pd.DataFrame(
        {
            "batch_id": list(every),
            "product_id": "P",
            "status": ["released"] * len(stretches) + ["in_progress"] * len(test_batches),
            "n_major_deviations": 0,
            "n_out_of_spec": 0,
            "outcome_value": 1.0,
            "is_in_progress": False,
        }
    )
    setpoints = pd.DataFrame(
        [
            {"batch_id": b, "parameter_id": p, "setpoint": v * s}
            for b, s in every.items()
            for p, v in (("shift_day", TEMPLATE_SHIFT_H / 24), ("length_h", 100.0))
        ]
    )
    process = {
        "product_id": "P",
        "process_type": "other",
        "expected_duration_h": 100.0,
        "outcome_parameter_id": "titer",
        "grid_step_h": 1.0,
        "alignment_parameter_id": "shift_day|length_h",
    }
    parameters = pd.DataFrame(
        {
            "parameter_id": ["temperature", "vcd_online", "do", "shift_day", "length_h"],
            "kind": ["process"] * 3 + ["recipe"] * 2,
            "canonical_unit": ["degC", "1e6 cells/mL", "%", "d", "h"],
        }
    )
    labs = pd.DataFrame({"batch_id": [], "parameter_id": [], "elapsed_h": [], "value": []})
    return from_frames(
        pd.concat(rows, ignore_index=True),
        labs,
        features,
        pd.DataFrame([process]),
        parameters,
        setpoints,
    )


def _first_alarms(data) -> dict[str, float | None]:
    result = run_monitoring(data, data.processes["P"], code_version="test")
    first = result.monitoring.groupby("batch_id")["first_alarm_h"].first()
    return {b: None if pd.isna(h) else float(h) for b, h in first.items()}


def test_the_warp_is_piecewise_linear_through_the_planned_events_and_invertible() -> None:
    own, reference = np.array([60.0, 120.0]), np.array([50.0, 100.0])
    hours = np.array([0.0, 30.0, 60.0, 90.0, 120.0, 132.0])
    aligned = to_aligned(hours, own, reference)
    np.testing.assert_allclose(aligned, [0.0, 25.0, 50.0, 75.0, 100.0, 110.0])
    np.testing.assert_allclose(to_elapsed(aligned, own, reference), hours)
    # a batch whose record plans no event stays on its own clock
    np.testing.assert_allclose(to_aligned(hours, np.array([np.nan, np.nan]), reference), hours)


def test_a_stretched_batch_gets_the_verdict_of_its_unstretched_twin() -> None:
    data = _data(
        [
            ("N", 1.0, False),
            ("N_STRETCHED", 1.25, False),
            ("F", 1.0, True),
            ("F_STRETCHED", 1.25, True),
        ]
    )
    alarms = _first_alarms(data)
    assert alarms["N"] is None and alarms["N_STRETCHED"] is None
    assert alarms["F"] is not None and alarms["F_STRETCHED"] is not None
    # the same aligned step, in each batch's own hours: after the onset (70 h, 87.5 h)
    assert 70.0 <= alarms["F"] <= 80.0
    assert abs(alarms["F_STRETCHED"] - 1.25 * alarms["F"]) <= 2.0 * 1.25
    # no reference batch (they run 0.8 to 1.2 times the median's pace) alarms
    assert not [b for b, h in alarms.items() if b.startswith("R") and h is not None]


def test_without_alignment_the_same_batches_are_judged_by_their_pace() -> None:
    data = _data([("N_STRETCHED", 1.25, False)])
    process = data.processes["P"]
    unaligned = {
        **data.processes,
        "P": type(process)(**{**process.__dict__, "alignment_parameters": ()}),
    }
    alarms = _first_alarms(type(data)(**{**data.__dict__, "processes": unaligned}))
    assert alarms["N_STRETCHED"] is not None  # its shift comes 12.5 h after everyone's


def test_an_in_progress_batch_is_aligned_without_look_ahead() -> None:
    complete = _data([("F_STRETCHED", 1.25, True)])
    partial = _data([("F_STRETCHED", 1.25, True)])
    cut = 60.0  # the batch has run 60 of its 125 h
    trajectory = partial.trajectory
    keep = ~((trajectory["batch_id"] == "F_STRETCHED") & (trajectory["elapsed_h"] > cut))
    partial = replace(partial, trajectory=trajectory[keep])

    def scores(data) -> pd.DataFrame:
        rows = run_monitoring(data, data.processes["P"], "test").monitoring
        rows = rows[(rows["batch_id"] == "F_STRETCHED") & (rows["elapsed_h"] <= cut)]
        return rows[["elapsed_h", "t2", "spe", "drift"]].reset_index(drop=True)

    pd.testing.assert_frame_equal(scores(complete), scores(partial))
