"""How well the twin works on batches it was not fitted to, against a generated plant's truth.

Monitoring: normal reference batches are scored by the model fitted without them (leave one
batch out); every other batch by the full model, which never saw it. A faulted batch is
detected when its first alarm comes at or after the fault onset (the generator's manifest); an
alarm before the onset counts as a false alarm of that batch, not a detection. Delay = first
alarm − onset (hours). Forecasts: grouped 5-fold CV per process (`twin.forecast`).
Used by `bench/twin_validation.py` and by the test that holds the twin to its targets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.data import TwinData
from twin.forecast import CheckpointMetrics, cross_validate
from twin.pipeline import SoftSensorResult, completed, run_monitoring, run_soft_sensors
from twin.soft_sensor import SensorMetrics


@dataclass(frozen=True)
class DetectionRow:
    kind: str  # fault type, or "normal"
    n_batches: int
    n_alarmed: int  # normal: false alarms; faulted: detected after onset
    median_delay_h: float | None  # faulted only
    max_delay_h: float | None

    @property
    def rate(self) -> float:
        return self.n_alarmed / self.n_batches if self.n_batches else float("nan")


def detection_table(
    alarms: Mapping[str, float | None], faults: Mapping[str, tuple[str, float]]
) -> list[DetectionRow]:
    """One row per fault type and one for normal batches. `faults`: batch -> (type, onset h)."""
    rows = []
    normal = [b for b in alarms if b not in faults]
    rows.append(
        DetectionRow("normal", len(normal), sum(alarms[b] is not None for b in normal), None, None)
    )
    for kind in sorted({k for k, _ in faults.values()}):
        batches = [b for b, (k, _) in faults.items() if k == kind and b in alarms]
        delays = [
            alarms[b] - faults[b][1]
            for b in batches
            if alarms[b] is not None and alarms[b] >= faults[b][1]
        ]
        rows.append(
            DetectionRow(
                kind,
                len(batches),
                len(delays),
                float(np.median(delays)) if delays else None,
                float(np.max(delays)) if delays else None,
            )
        )
    return rows


def manifest_faults(manifest: dict) -> tuple[dict[str, tuple[str, float]], set[str]]:
    """(batch -> (fault type, onset hour) for faults the extract can see, batches whose fault
    starts after the extract: neither normal nor detectable)."""
    faults, hidden = {}, set()
    for batch in manifest["batches"]:
        fault = batch.get("fault")
        if not fault:
            continue
        if fault["observable_by_extract"]:
            faults[batch["batch_id"]] = (fault["type"], float(fault["onset_elapsed_h"]))
        else:
            hidden.add(batch["batch_id"])
    return faults, hidden


def monitoring_detection(
    data: TwinData, faults: Mapping[str, tuple[str, float]], hidden: set[str]
) -> list[DetectionRow]:
    """Detection table over every process the pipeline monitors (`run_monitoring`, as the
    assets run it): each batch's first alarm, reference batches scored held out."""
    alarms: dict[str, float | None] = {}
    for process in data.processes.values():
        result = run_monitoring(data, process, code_version="validation")
        if result is None:
            continue
        first = result.monitoring.groupby("batch_id")["first_alarm_h"].first()
        alarms |= {b: None if pd.isna(h) else float(h) for b, h in first.items() if b not in hidden}
    return detection_table(alarms, {b: f for b, f in faults.items() if b in alarms})


def soft_sensors(data: TwinData) -> dict[str, SoftSensorResult]:
    """Per process: its soft sensors as the pipeline runs them (`run_soft_sensors`): their
    estimates, which the forecasts read, and their out-of-fold scores. Computed once and
    handed to `forecast_metrics` and `soft_sensor_metrics` (scoring is five fits a sensor)."""
    return {
        product: run_soft_sensors(data, process, code_version="validation")
        for product, process in data.processes.items()
    }


def forecast_metrics(
    data: TwinData, sensors: Mapping[str, SoftSensorResult] | None = None
) -> dict[str, list[CheckpointMetrics]]:
    """Per process with at least 5 completed batches: grouped-CV metrics per checkpoint, with
    the soft sensors' estimates among the features as the pipeline runs them (`sensors`, from
    `soft_sensors`; computed here when None)."""
    sensors = soft_sensors(data) if sensors is None else sensors
    out = {}
    for product, process in data.processes.items():
        done = completed(data.batches(product))
        if len(done) < 5:
            continue
        out[product], _ = cross_validate(
            process,
            list(done["batch_id"]),
            done["outcome_value"].astype(float).to_numpy(),
            data.trajectory,
            data.labs,
            data.recipe(process),
            soft=sensors[product].estimates,
        )
    return out


def soft_sensor_metrics(
    data: TwinData, sensors: Mapping[str, SoftSensorResult] | None = None
) -> dict[str, list[SensorMetrics]]:
    """Per process with sensors: each one's out-of-fold scores against the typical curve, on
    the lab results of completed batches (what the pipeline trains on), from its registry
    row (`sensors`, from `soft_sensors`; computed here when None)."""
    sensors = soft_sensors(data) if sensors is None else sensors
    out = {}
    for product, result in sensors.items():
        if result.registry:
            out[product] = [
                SensorMetrics.from_registry(json.loads(row["metrics"])) for row in result.registry
            ]
    return out
