"""`biotwin twin simulate`: a what-if on the registered growth model of the batch's process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from biotwin.warehouse import connect
from twin import growth
from twin.data import read_marts, read_twin_table


class SimulationUnavailable(ValueError):
    """The batch's process has no mechanistic model, or none is registered yet."""


class OutOfRange(ValueError):
    """A `--set` value the model cannot answer for; the message gives the allowed range."""


def plausible_ranges(warehouse: Path, parameter_ids: list[str]) -> dict[str, tuple]:
    """(min, max, unit) of each parameter from marts.dim_parameter (ref.parameters)."""
    con = connect(warehouse, read_only=True)
    try:
        rows = con.execute(
            "SELECT parameter_id, plausible_min, plausible_max, canonical_unit "
            "FROM marts.dim_parameter WHERE list_contains(?, parameter_id)",
            [parameter_ids],
        ).fetchall()
    finally:
        con.close()
    return {pid: (lo, hi, unit) for pid, lo, hi, unit in rows}


def allowed_ranges(
    plausible: dict[str, tuple], fitted_harvest_days: list[float], grid_step_h: float
) -> dict[str, tuple[float, float, str, str]]:
    """What a what-if may ask: (lowest, highest, unit, why) per changeable input.

    A seeding density must be a physical one (above 0, within ref.parameters' plausible
    range). A harvest day must lie within the plausible range and not beyond the longest
    culture the model was fitted on: past it the growth model extrapolates, and its band
    says nothing about that."""
    out = {}
    lo, hi, unit = plausible.get(growth.SEEDING_PARAMETER, (None, None, "1e6 cells/mL"))
    out[growth.SEEDING_PARAMETER] = (
        max(lo or 0.0, 0.0),
        hi if hi is not None else float("inf"),
        unit or "",
        "above 0 and within its plausible range in ref.parameters",
    )
    lo, hi, unit = plausible.get("harvest_day", (None, None, "d"))
    limits = [v for v in (hi, max(fitted_harvest_days, default=None)) if v is not None]
    out["harvest_day"] = (
        max(lo or 0.0, grid_step_h / 24.0),
        min(limits, default=float("inf")),
        unit or "d",
        "within its plausible range and not beyond the longest culture the growth model was "
        "fitted on",
    )
    return out


def check_changes(changes: dict[str, float], allowed: dict[str, tuple]) -> None:
    """OutOfRange naming the first change outside its allowed range."""
    for name, value in changes.items():
        if name not in allowed:
            raise OutOfRange(
                f"--set {name}: cannot be changed; a what-if changes " + ", ".join(sorted(allowed))
            )
        lo, hi, unit, why = allowed[name]
        inside = (value > lo if lo == 0.0 else value >= lo) and value <= hi
        if not inside:
            low = f"> {lo:.3g}" if lo == 0.0 else f">= {lo:.3g}"
            raise OutOfRange(
                f"--set {name}={value:g} is outside what the model can answer: allowed "
                f"{low} and <= {hi:.3g} {unit} ({why})"
            )


def registered_growth_model(warehouse: Path, product_id: str, process) -> growth.GrowthModel:
    rows = read_twin_table(
        warehouse,
        "model_registry",
        "WHERE kind = 'growth_logistic_monod' AND product_id = ? ORDER BY trained_at DESC",
        [product_id],
    )
    if rows.empty:
        raise SimulationUnavailable(
            f"no growth model registered for {product_id} yet: run the twin assets "
            "(biotwin run) first"
        )
    row = rows.iloc[0]
    params = json.loads(row["params"])
    return growth.GrowthModel(
        process=process,
        params=np.array([params["constants"][n] for n in growth.NAMES]),
        samples=np.array(params["bootstrap_constants"]),
        training_batches=tuple(json.loads(row["training_batches"])),
        rmse_log_x=float(json.loads(row["metrics"])["rmse_log_vcd"]),
        extra={"model_id": row["model_id"]},
    )


def as_run_value(setpoints: pd.DataFrame, batch_id: str, parameter_id: str) -> float | None:
    """The batch record's actual value of a parameter (else its set-point), canonical unit."""
    rows = setpoints[
        (setpoints["batch_id"] == batch_id) & (setpoints["parameter_id"] == parameter_id)
    ]
    values = rows["actual"].where(rows["actual"].notna(), rows["setpoint"]).dropna()
    return float(values.mean()) if len(values) else None


def simulate_batch(warehouse: Path, batch_id: str, changes: dict[str, float]) -> dict:
    """The batch as run (observed and simulated) and as changed, with a 90 % band."""
    data = read_marts(warehouse)
    features = data.features.set_index("batch_id")
    if batch_id not in features.index:
        raise SimulationUnavailable(f"no batch {batch_id} in marts.batch_features")
    row = features.loc[batch_id]
    process = data.processes[row["product_id"]]
    if process.mechanistic_model is None:
        raise SimulationUnavailable(
            f"{process.product_id} has no mechanistic model (ref.processes.mechanistic_model is "
            "empty): what-if simulation is not available for this process"
        )
    model = registered_growth_model(warehouse, process.product_id, process)
    fitted = [
        v
        for b in model.training_batches
        if (v := as_run_value(data.setpoints, b, "harvest_day")) is not None
    ]
    allowed = allowed_ranges(
        plausible_ranges(warehouse, [growth.SEEDING_PARAMETER, "harvest_day"]),
        fitted,
        process.grid_step_h,
    )
    check_changes(changes, allowed)
    inputs = growth.batch_inputs(process, [batch_id], data.trajectory, data.labs)
    if not inputs:
        raise SimulationUnavailable(f"{batch_id} has no culture data to simulate from")
    seeding = as_run_value(data.setpoints, batch_id, growth.SEEDING_PARAMETER)
    observed = row.get("outcome_value")
    result = growth.what_if(
        model,
        inputs[0],
        changes,
        seeding,
        float(observed) if observed == observed and observed is not None else None,
    )
    step = max(1, round(24 / process.grid_step_h))
    lines = [
        f"{batch_id} ({process.product_id}), growth model {model.extra['model_id']}",
        f"changes: {', '.join(f'{k}={v:g}' for k, v in changes.items()) or 'none'}",
        f"outcome {process.outcome_parameter_id} (1e9 cells):",
        f"  observed as run:  {result.observed_outcome}",
        f"  simulated as run: {result.as_run_outcome:.3g}",
        f"  simulated changed: {result.outcome:.3g}  (90 % band {result.outcome_band[0]:.3g}"
        f" – {result.outcome_band[1]:.3g})",
        "culture hour  viable density changed (1e6/mL)  band",
    ]
    lines += [
        f"  {result.hours[k]:6.0f}  {result.x[k]:8.3f}  {result.x_band[0][k]:.3f} – "
        f"{result.x_band[1][k]:.3f}"
        for k in range(0, len(result.hours), step)
    ]
    return {
        "batch_id": batch_id,
        "product_id": process.product_id,
        "model_id": model.extra["model_id"],
        "changes": changes,
        "observed_outcome": result.observed_outcome,
        "as_run_outcome": result.as_run_outcome,
        "outcome": result.outcome,
        "outcome_band": list(result.outcome_band),
        "hours": result.hours.tolist(),
        "viable_density": result.x.tolist(),
        "text": "\n".join(lines),
    }
