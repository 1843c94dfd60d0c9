"""Validation of the digital twin on a generated plant: what the models do on batches they were
not trained on, against the generator's ground truth.

- forecasts: per process and checkpoint, 5-fold CV grouped by batch: MAPE, RMSE and 90 %
  interval coverage of the model and of the naive forecast (training mean);
- monitoring: per fault type, batches detected after the onset (manifest), median and worst
  delay, and false alarms of batches without a fault (reference batches scored held out).

The plant is a demo home (`BIOTWIN_HOME` layout: manifest.json + warehouse.duckdb), e.g. made
with `BIOTWIN_HOME=/tmp/plant80 biotwin demo --batches 80 --seed 11`. Prints the tables and
appends one JSON line to bench/results/twin_validation.jsonl. Usage:

    .venv/bin/python bench/twin_validation.py --home /tmp/plant80
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin import monitoring as mon  # noqa: E402
from twin.data import monitoring_cube, read_marts  # noqa: E402
from twin.forecast import cross_validate  # noqa: E402
from twin.golden import reference_batches  # noqa: E402
from twin.pipeline import completed  # noqa: E402
from twin.validation import detection_table, first_alarm_hours  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "twin_validation.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True, type=Path)
    args = parser.parse_args()
    data = read_marts(args.home / "warehouse.duckdb")
    manifest = json.loads((args.home / "manifest.json").read_text())
    faults = {
        b["batch_id"]: (b["fault"]["type"], b["fault"]["onset_elapsed_h"])
        for b in manifest["batches"]
        if b.get("fault") and b["fault"]["observable_by_extract"]
    }
    hidden = {
        b["batch_id"]
        for b in manifest["batches"]
        if b.get("fault") and not b["fault"]["observable_by_extract"]
    }
    record = {"at": datetime.now(UTC).isoformat(), "home": str(args.home), "forecast": {}}
    alarms: dict[str, float | None] = {}
    for product, process in data.processes.items():
        features = data.batches(product)
        done = completed(features)
        metrics, _ = cross_validate(
            process,
            list(done["batch_id"]),
            done["outcome_value"].astype(float).to_numpy(),
            data.trajectory,
            data.labs,
            data.features,
        )
        record["forecast"][product] = [asdict(m) for m in metrics]
        print(f"\n{product}: forecast of {process.outcome_parameter_id}, {len(done)} batches")
        print("  share  hour   MAPE  naive  reduction    RMSE   naive  cover90  naive")
        for m in metrics:
            print(
                f"  {m.share:4.0%} {m.hour:5.0f} {m.mape:6.1f} {m.naive_mape:6.1f} "
                f"{m.mape_reduction:9.0%} {m.rmse:8.3g} {m.naive_rmse:7.3g} "
                f"{m.coverage:7.2f} {m.naive_coverage:6.2f}"
            )
        reference = reference_batches(features, product)
        if len(reference) < 3:
            continue
        model, kept, _ = mon.fit_cleaned(monitoring_cube(data, process, reference), reference)
        others = [b for b in features["batch_id"] if b not in kept and b not in hidden]
        scores = mon.score(model, monitoring_cube(data, process, others))
        alarms |= first_alarm_hours(model, kept, others, scores, process.grid_step_h)
    rows = detection_table(alarms, {b: f for b, f in faults.items() if b in alarms})
    record["monitoring"] = [asdict(r) | {"rate": r.rate} for r in rows]
    print("\nmonitoring (all processes): kind, batches, alarmed, rate, median / max delay h")
    for r in rows:
        delay = "" if r.median_delay_h is None else f"{r.median_delay_h:.1f} / {r.max_delay_h:.1f}"
        print(f"  {r.kind:<22} {r.n_batches:4d} {r.n_alarmed:4d} {r.rate:6.1%}  {delay}")
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as handle:
        handle.write(json.dumps(record, default=float) + "\n")


if __name__ == "__main__":
    main()
