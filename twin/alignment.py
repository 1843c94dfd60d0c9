"""Batches of unequal length on one grid: alignment by planned process events (landmarks).

A process whose batches run their phases at different times (a temperature shift on day 4,
5 or 6; a longer or shorter production) names, in `ref.processes.alignment_parameter_id`, the
recipe parameters (unit h or d) that plan those events, in time order, e.g.
`temperature_shift_day|production_days`. Each batch's time is then warped piecewise-linearly
so that its planned events fall where the median batch's do: from the start to the first event,
from event to event, and at the rate of the last stretch after the last one. Two batches that
differ only by a stretch in time land on the same aligned trajectory.

Why landmarks and not dynamic time warping: the events are in the batch record from the start
(set-points), so an in-progress batch is aligned online, step by step, with nothing it has not
yet recorded (no look-ahead); and the warp cannot bend a fault away, which warping on the
monitored values themselves can (a DO drop absorbed as "a slower batch"). A process that names
no events is monitored on elapsed time: for the cell-therapy processes, whose growth runs on the
clock whatever the harvest day, that is the right grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.process import Process

HOURS_PER_UNIT = {"h": 1.0, "d": 24.0}


def planned_events(
    setpoints: pd.DataFrame, units: dict[str, str], process: Process, batch_ids: list[str]
) -> pd.DataFrame:
    """Hours of each batch's planned events (one column per alignment parameter, in order),
    from the batch records' set-points; NaN where a record does not give one."""
    rows = setpoints[
        setpoints["batch_id"].isin(batch_ids)
        & setpoints["parameter_id"].isin(process.alignment_parameters)
    ]
    table = rows.pivot_table(index="batch_id", columns="parameter_id", values="setpoint")
    out = pd.DataFrame(index=pd.Index(batch_ids, name="batch_id"))
    for name in process.alignment_parameters:
        factor = HOURS_PER_UNIT.get(units.get(name, "h"), np.nan)
        column = table[name] if name in table.columns else pd.Series(dtype=float)
        out[name] = column.reindex(batch_ids).astype(float) * factor
    return out


def reference_events(events: pd.DataFrame) -> np.ndarray:
    """Where the aligned grid puts each event: the median batch's planned hour."""
    return events.median(axis=0, skipna=True).to_numpy(dtype=float)


def _knots(own: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Increasing knots (own hours, aligned hours) through the start and every usable event."""
    keep = ~np.isnan(own) & ~np.isnan(reference) & (own > 0) & (reference > 0)
    xs, ys = [0.0], [0.0]
    for x, y in zip(own[keep], reference[keep], strict=True):
        if x > xs[-1] and y > ys[-1]:
            xs.append(float(x))
            ys.append(float(y))
    return np.array(xs), np.array(ys)


def _warp(values: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Piecewise linear through knots (xs, ys); the last stretch's rate continues past the last
    knot; the identity when there is no knot beyond the start."""
    if len(xs) == 1:
        return np.asarray(values, dtype=float)
    rate = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    return np.where(values <= xs[-1], np.interp(values, xs, ys), ys[-1] + (values - xs[-1]) * rate)


def to_aligned(hours: np.ndarray, own: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """A batch's elapsed hours on the aligned grid (identity when it has no usable event)."""
    return _warp(hours, *_knots(own, reference))


def to_elapsed(aligned: np.ndarray, own: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The inverse of `to_aligned`: which of the batch's elapsed hours an aligned hour is."""
    xs, ys = _knots(own, reference)
    return _warp(aligned, ys, xs)


def aligned_cube(
    trajectory: pd.DataFrame,
    process: Process,
    batch_ids: list[str],
    elapsed_at_step: np.ndarray,
) -> np.ndarray:
    """Values as [batch, grid step, parameter] on the aligned grid: each batch's trajectory
    interpolated at the elapsed hour each aligned step stands for (`elapsed_at_step`,
    [batch, step]). Never beyond what the batch has recorded, nor across a gap longer than two
    grid steps: NaN there."""
    cube = np.full((len(batch_ids), len(process.grid), len(process.parameters)), np.nan)
    rows = trajectory[
        trajectory["batch_id"].isin(batch_ids) & trajectory["parameter_id"].isin(process.parameters)
    ]
    index = {b: i for i, b in enumerate(batch_ids)}
    columns = {p: j for j, p in enumerate(process.parameters)}
    for (batch, parameter), series in rows.groupby(["batch_id", "parameter_id"], sort=False):
        series = series.sort_values("elapsed_h")
        hours = series["elapsed_h"].to_numpy(dtype=float)
        values = series["value"].to_numpy(dtype=float)
        at = elapsed_at_step[index[batch]]
        inside = (at >= hours[0]) & (at <= hours[-1])
        slot = np.clip(np.searchsorted(hours, at), 1, len(hours) - 1) if len(hours) > 1 else None
        if slot is not None:
            inside &= (hours[slot] - hours[slot - 1]) <= 2.0 * process.grid_step_h
        cube[index[batch], inside, columns[parameter]] = np.interp(at[inside], hours, values)
    return cube
