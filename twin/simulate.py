"""`biotwin twin simulate`: a what-if on the registered growth model of the batch's process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from twin import growth
from twin.data import read_marts, read_twin_table


class SimulationUnavailable(ValueError):
    """The batch's process has no mechanistic model, or none is registered yet."""


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
