"""Validation of the digital twin on a generated plant: what the models do on batches they were
not trained on, against the generator's ground truth (`twin/validation.py`).

- forecasts: per process and checkpoint, 5-fold CV grouped by batch: MAPE, RMSE and 90 %
  interval coverage and median interval width of the model and of the naive forecast
  (training mean, 5-95 % range);
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

from twin.data import read_marts  # noqa: E402
from twin.validation import (  # noqa: E402
    forecast_metrics,
    manifest_faults,
    monitoring_detection,
    soft_sensor_metrics,
    soft_sensors,
)

RESULTS = Path(__file__).parent / "results" / "twin_validation.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True, type=Path)
    args = parser.parse_args()
    data = read_marts(args.home / "warehouse.duckdb")
    faults, hidden = manifest_faults(json.loads((args.home / "manifest.json").read_text()))
    record = {"at": datetime.now(UTC).isoformat(), "home": str(args.home), "forecast": {}}
    sensors = soft_sensors(data)  # scored once: the forecasts read them, their scores below
    for product, metrics in forecast_metrics(data, sensors).items():
        outcome = data.processes[product].outcome_parameter_id
        record["forecast"][product] = [asdict(m) for m in metrics]
        print(f"\n{product}: forecast of {outcome}, {metrics[0].n_batches} batches")
        print(
            "  share  hour   MAPE  naive  reduction    RMSE   naive  cover90  naive   width  naive"
        )
        for m in metrics:
            print(
                f"  {m.share:4.0%} {m.hour:5.0f} {m.mape:6.1f} {m.naive_mape:6.1f} "
                f"{m.mape_reduction:9.0%} {m.rmse:8.3g} {m.naive_rmse:7.3g} "
                f"{m.coverage:7.2f} {m.naive_coverage:6.2f} {m.width:7.3g} {m.naive_width:6.3g}"
                f"  chosen in outer folds: {m.chosen}"
            )
    rows = monitoring_detection(data, faults, hidden)
    record["monitoring"] = [asdict(r) | {"rate": r.rate} for r in rows]
    print("\nmonitoring (all processes): kind, batches, alarmed, rate, median / max delay h")
    for r in rows:
        delay = "" if r.median_delay_h is None else f"{r.median_delay_h:.1f} / {r.max_delay_h:.1f}"
        print(f"  {r.kind:<22} {r.n_batches:4d} {r.n_alarmed:4d} {r.rate:6.1%}  {delay}")
    record["soft_sensor"] = {}
    print("\nsoft sensors, 5-fold by batch: samples, MAE, typical curve, reduction, cover90")
    for product, scores in soft_sensor_metrics(data, sensors).items():
        record["soft_sensor"][product] = [asdict(s) | {"reduction": s.reduction} for s in scores]
        for s in scores:
            print(
                f"  {product:<10} {s.parameter_id:<20} {s.n_samples:5d} {s.mae:9.3g} "
                f"{s.baseline_mae:9.3g} {s.reduction:8.0%} {s.coverage:6.2f}"
            )
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as handle:
        handle.write(json.dumps(record, default=float) + "\n")


if __name__ == "__main__":
    main()
