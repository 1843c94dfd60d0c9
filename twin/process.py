"""A process as the twin sees it: its reference rows, nothing in code.

`ref.processes` gives the outcome parameter, the expected duration and the grid step of each
product; the monitored parameters are the process parameters (`ref.parameters.kind =
'process'`) that the product's batches actually record on the grid, and the controlled ones
among them are those the batch records give a set-point for (`marts.fct_batch_setpoint`). A new
process therefore needs reference rows and data, not code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CHECKPOINTS = (0.2, 0.4, 0.6, 0.8)  # fractions of the expected duration
MIN_COVERAGE = 0.5  # a parameter is monitored where at least half the batches record it
NAIVE_FORECAST = "training_mean"  # the fallback forecast's name (twin.candidates, twin.checks)
# the trajectories a growth model reads: viable cell density (a probe) and culture volume
GROWTH_DENSITY = "vcd_online"
GROWTH_VOLUME = "culture_volume"


@dataclass(frozen=True)
class Process:
    product_id: str
    process_type: str
    expected_duration_h: float
    outcome_parameter_id: str
    grid_step_h: float
    parameters: tuple[str, ...]  # monitored process parameters, in a fixed order
    mechanistic_model: str | None = None  # e.g. "logistic_monod"; None: no what-if
    setpoint_parameters: tuple[str, ...] = ()  # monitored as deviation from the batch's set-point
    # recipe parameters (ref.parameters kind 'recipe') the batch records set: forecast inputs
    recipe_parameters: tuple[str, ...] = ()
    # recipe parameters (h or d) planning events monitoring aligns batches on (twin.alignment)
    alignment_parameters: tuple[str, ...] = ()

    @property
    def grid(self) -> np.ndarray:
        """Elapsed hours of the grid steps, 0 .. expected duration."""
        n = int(np.floor(self.expected_duration_h / self.grid_step_h)) + 1
        return np.arange(n) * self.grid_step_h

    def checkpoint_hours(self) -> list[float]:
        """Checkpoints snapped down to the grid: what is known at hour t is the grid up to t."""
        step = self.grid_step_h
        return [float(np.floor(f * self.expected_duration_h / step) * step) for f in CHECKPOINTS]


def monitored_parameters(
    trajectory: pd.DataFrame, parameter_kinds: pd.DataFrame, product_id: str
) -> tuple[str, ...]:
    """Process parameters recorded for at least MIN_COVERAGE of the product's batches."""
    process_kind = set(parameter_kinds.loc[parameter_kinds["kind"] == "process", "parameter_id"])
    rows = trajectory[trajectory["product_id"] == product_id]
    n_batches = rows["batch_id"].nunique()
    if n_batches == 0:
        return ()
    coverage = rows.groupby("parameter_id")["batch_id"].nunique() / n_batches
    return tuple(sorted(p for p, c in coverage.items() if p in process_kind and c >= MIN_COVERAGE))


def controlled_parameters(
    monitored: tuple[str, ...], trajectory: pd.DataFrame, setpoints: pd.DataFrame, product_id: str
) -> tuple[str, ...]:
    """Monitored parameters that at least MIN_COVERAGE of the product's batches set in their
    batch record, with one set-point per batch. A parameter some batch record sets per phase
    (several rows) is monitored as measured: v1 does not map set-points to phase windows."""
    batches = set(trajectory.loc[trajectory["product_id"] == product_id, "batch_id"])
    rows = setpoints[setpoints["batch_id"].isin(batches)]
    if not batches or rows.empty:
        return ()
    per_batch = rows.groupby(["parameter_id", "batch_id"]).size().groupby("parameter_id").max()
    coverage = rows.groupby("parameter_id")["batch_id"].nunique() / len(batches)
    return tuple(
        p for p in monitored if coverage.get(p, 0.0) >= MIN_COVERAGE and per_batch.get(p, 0) == 1
    )


def recipe_parameters(
    parameter_kinds: pd.DataFrame,
    trajectory: pd.DataFrame,
    setpoints: pd.DataFrame,
    product_id: str,
) -> tuple[str, ...]:
    """Recipe parameters that at least MIN_COVERAGE of the product's batches set a value for."""
    recipe = set(parameter_kinds.loc[parameter_kinds["kind"] == "recipe", "parameter_id"])
    batches = set(trajectory.loc[trajectory["product_id"] == product_id, "batch_id"])
    rows = setpoints[setpoints["batch_id"].isin(batches) & setpoints["parameter_id"].isin(recipe)]
    if not batches or rows.empty:
        return ()
    coverage = rows.groupby("parameter_id")["batch_id"].nunique() / len(batches)
    return tuple(sorted(p for p, c in coverage.items() if c >= MIN_COVERAGE))


def processes_from_reference(
    processes: pd.DataFrame,
    parameter_kinds: pd.DataFrame,
    trajectory: pd.DataFrame,
    setpoints: pd.DataFrame,
) -> dict[str, Process]:
    """One Process per `ref.processes` row (the reference table as a frame)."""
    out = {}
    for row in processes.to_dict("records"):
        model = row.get("mechanistic_model")
        monitored = monitored_parameters(trajectory, parameter_kinds, row["product_id"])
        out[row["product_id"]] = Process(
            product_id=row["product_id"],
            process_type=row["process_type"],
            expected_duration_h=float(row["expected_duration_h"]),
            outcome_parameter_id=row["outcome_parameter_id"],
            grid_step_h=float(row["grid_step_h"]),
            parameters=monitored,
            mechanistic_model=model if isinstance(model, str) and model else None,
            setpoint_parameters=controlled_parameters(
                monitored, trajectory, setpoints, row["product_id"]
            ),
            recipe_parameters=recipe_parameters(
                parameter_kinds, trajectory, setpoints, row["product_id"]
            ),
            alignment_parameters=_listed(row.get("alignment_parameter_id")),
        )
    return out


def _listed(value: object) -> tuple[str, ...]:
    """A '|'-separated reference cell as names; () when empty or missing."""
    if not isinstance(value, str):
        return ()
    return tuple(name.strip() for name in value.split("|") if name.strip())
