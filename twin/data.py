"""What the twin reads: marts, as pandas frames, and the aligned batch cube built from them.

`read_marts` is the only function here that touches the warehouse (read-only, DuckDB); the
rest are pure. Models read `marts.fct_batch_trajectory`, `marts.fct_lab_result`,
`marts.batch_features`, `marts.fct_batch_setpoint` and the reference tables `ref.processes`,
`ref.parameters`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from biotwin.warehouse import connect, table_exists
from twin.alignment import aligned_cube, planned_events, reference_events, to_elapsed
from twin.process import Process, processes_from_reference


@dataclass(frozen=True)
class TwinData:
    trajectory: pd.DataFrame  # batch_id, product_id, parameter_id, elapsed_h, value
    labs: pd.DataFrame  # batch_id, parameter_id, elapsed_h, value (current versions)
    features: pd.DataFrame  # marts.batch_features, one row per batch
    processes: dict[str, Process]
    setpoints: pd.DataFrame  # batch_id, parameter_id, setpoint (batch record, canonical unit)
    units: dict[str, str] = field(default_factory=dict)  # parameter -> canonical unit (ref)

    def batches(self, product_id: str) -> pd.DataFrame:
        return self.features[self.features["product_id"] == product_id].sort_values("batch_id")

    def recipe(self, process: Process) -> pd.DataFrame:
        """The batch-record rows of the process's recipe parameters (batch_id, parameter_id,
        setpoint, actual, recorded_h) with each batch's planned_duration_h: what
        `twin.forecast.features_at` reads as the recipe."""
        rows = self.setpoints[self.setpoints["parameter_id"].isin(process.recipe_parameters)]
        if "planned_duration_h" not in self.features:
            return rows
        planned = self.features.set_index("batch_id")["planned_duration_h"]
        return rows.assign(planned_duration_h=rows["batch_id"].map(planned).astype(float))


# Every query has a total ORDER BY: SQL promises no row order, and DuckDB's parallel joins
# and windows write a table's rows in an order that can differ between two builds of the same
# data. The models must see the same frames, row for row, whatever order the marts came in.
QUERIES = {
    "trajectory": """SELECT batch_id, product_id, parameter_id, elapsed_h, value
                     FROM marts.fct_batch_trajectory
                     ORDER BY batch_id, parameter_id, elapsed_h""",
    "labs": """SELECT batch_id, parameter_id, elapsed_h, value
               FROM marts.fct_lab_result
               WHERE is_current AND batch_id IS NOT NULL AND value IS NOT NULL
                 AND elapsed_h IS NOT NULL
               ORDER BY batch_id, parameter_id, elapsed_h, _record_id""",
    "features": "SELECT * FROM marts.batch_features ORDER BY batch_id",
    # recorded_h: hours from the batch's start to when the record wrote the value (an actual is
    # known from then on, a set-point from the start)
    "setpoints": """SELECT s.batch_id, s.parameter_id, s.setpoint, s.actual,
                           date_diff('second', b.started_at_utc, s.recorded_at_utc) / 3600.0
                               AS recorded_h
                    FROM marts.fct_batch_setpoint AS s
                    LEFT JOIN marts.dim_batch AS b ON s.batch_id = b.batch_id
                    WHERE s.setpoint IS NOT NULL
                    ORDER BY s.batch_id, s.parameter_id, s._record_id""",
    "processes": "SELECT * FROM ref.processes ORDER BY product_id",
    "parameters": """SELECT parameter_id, kind, canonical_unit FROM ref.parameters
                      ORDER BY parameter_id""",
}


def read_marts(warehouse: Path) -> TwinData:
    con = connect(warehouse, read_only=True)  # UTC: timestamps as the marts mean them
    try:
        frames = {name: con.execute(sql).df() for name, sql in QUERIES.items()}
    finally:
        con.close()
    return from_frames(**frames)


def from_frames(
    trajectory: pd.DataFrame,
    labs: pd.DataFrame,
    features: pd.DataFrame,
    processes: pd.DataFrame,
    parameters: pd.DataFrame,
    setpoints: pd.DataFrame | None = None,
) -> TwinData:
    for frame in (trajectory, labs):
        frame["value"] = frame["value"].astype(float)
        frame["elapsed_h"] = frame["elapsed_h"].astype(float)
    if setpoints is None:
        setpoints = pd.DataFrame({"batch_id": [], "parameter_id": [], "setpoint": []})
    setpoints = setpoints.assign(
        **{
            c: setpoints[c].astype(float)
            for c in ("setpoint", "actual", "recorded_h")
            if c in setpoints
        }
    )
    return TwinData(
        trajectory=trajectory,
        labs=labs,
        features=features,
        processes=processes_from_reference(processes, parameters, trajectory, setpoints),
        setpoints=setpoints,
        units={
            str(p): str(u) if isinstance(u, str) else ""
            for p, u in zip(
                parameters["parameter_id"],
                parameters.get("canonical_unit", pd.Series([""] * len(parameters))),
                strict=True,
            )
        },
    )


def batch_cube(trajectory: pd.DataFrame, process: Process, batch_ids: list[str]) -> np.ndarray:
    """Values as [batch, grid step, parameter]; NaN where nothing was recorded."""
    grid = process.grid
    cube = np.full((len(batch_ids), len(grid), len(process.parameters)), np.nan)
    rows = trajectory[
        trajectory["batch_id"].isin(batch_ids) & trajectory["parameter_id"].isin(process.parameters)
    ]
    if rows.empty:
        return cube
    b_index = {b: i for i, b in enumerate(batch_ids)}
    p_index = {p: j for j, p in enumerate(process.parameters)}
    k = np.rint(rows["elapsed_h"].to_numpy() / process.grid_step_h).astype(int)
    keep = (k >= 0) & (k < len(grid))
    cube[
        rows["batch_id"].map(b_index).to_numpy()[keep],
        k[keep],
        rows["parameter_id"].map(p_index).to_numpy()[keep],
    ] = rows["value"].to_numpy()[keep]
    return cube


def elapsed_at_steps(data: TwinData, process: Process, batch_ids: list[str]) -> np.ndarray:
    """[batch, step]: the elapsed hour of each batch that each grid step stands for. The grid
    itself where the process names no events to align on (`twin.alignment`)."""
    if not process.alignment_parameters:
        return np.tile(process.grid, (len(batch_ids), 1))
    all_ids = sorted(data.batches(process.product_id)["batch_id"])
    events = planned_events(data.setpoints, data.units, process, sorted({*all_ids, *batch_ids}))
    reference = reference_events(events)
    return (
        np.stack([to_elapsed(process.grid, events.loc[b].to_numpy(), reference) for b in batch_ids])
        if batch_ids
        else np.empty((0, len(process.grid)))
    )


def measured_cube(data: TwinData, process: Process, batch_ids: list[str]) -> np.ndarray:
    """Measured values as [batch, step, parameter] on the process's grid: elapsed time, or the
    aligned grid where the process names events to align on."""
    if not process.alignment_parameters:
        return batch_cube(data.trajectory, process, batch_ids)
    return aligned_cube(
        data.trajectory, process, batch_ids, elapsed_at_steps(data, process, batch_ids)
    )


def monitoring_cube(data: TwinData, process: Process, batch_ids: list[str]) -> np.ndarray:
    """The cube monitoring sees: a controlled parameter (one with a set-point in the batch
    record) as its relative deviation from the batch's own set-point, (value − set-point) /
    |set-point|, every other parameter as measured. Recipes differ between batches (DO 30 or
    50 %, feed 100 or 150 mL/h); a golden batch is one that holds *its* set-points, so the
    recipe's spread must not widen the envelope a failing controller is judged against. NaN
    for a controlled parameter of a batch that has no set-point for it."""
    cube = measured_cube(data, process, batch_ids)
    if not process.setpoint_parameters:
        return cube
    table = data.setpoints.pivot_table(
        index="batch_id", columns="parameter_id", values="setpoint", aggfunc="last"
    )
    for name in process.setpoint_parameters:
        j = process.parameters.index(name)
        column = table[name] if name in table.columns else pd.Series(dtype=float)
        sp = column.reindex(batch_ids).to_numpy(dtype=float)[:, None]
        scale = np.where(sp == 0, 1.0, np.abs(sp))
        cube[:, :, j] = (cube[:, :, j] - sp) / scale
    return cube


def read_twin_table(
    warehouse: Path, table: str, where: str = "", params: list | None = None
) -> pd.DataFrame:
    """Rows of one `twin.*` table (read-only); empty when the twin has not run yet."""
    con = connect(warehouse, read_only=True)
    try:
        if not table_exists(con, "twin", table):
            return pd.DataFrame()
        return con.execute(f"SELECT * FROM twin.{table} {where}", params or []).df()  # noqa: S608
    finally:
        con.close()
