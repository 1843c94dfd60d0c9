"""How long the twin's growth model takes to fit, per process, on a demo home's marts.

For every process whose reference row names a mechanistic model, the completed batches' inputs
are read once, then `twin.growth.fit` is timed (the fit and its bootstrap, as the
`twin/growth_model` asset runs it). Reported per process: batches, seconds, the RMSE of
log density and the fitted constants. Appends one JSON line to bench/results/growth_fit.jsonl.
Usage (after `make demo`):

    .venv/bin/python bench/growth_fit.py [--home .biotwin]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import append_result  # noqa: E402 - after the project is on the path

from lineage.code_version import code_version  # noqa: E402
from twin import growth  # noqa: E402
from twin.data import read_marts  # noqa: E402
from twin.pipeline import completed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, default=ROOT / ".biotwin")
    args = parser.parse_args()
    data = read_marts(args.home / "warehouse.duckdb")
    rows = []
    for process in data.processes.values():
        if process.mechanistic_model != "logistic_monod":
            continue
        ids = list(completed(data.batches(process.product_id))["batch_id"])
        inputs = growth.batch_inputs(process, ids, data.trajectory, data.labs)
        started = time.perf_counter()
        model = growth.fit(process, inputs)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "product_id": process.product_id,
                "batches": len(inputs),
                "seconds": round(seconds, 2),
                "rmse_log_x": round(model.rmse_log_x, 4),
                "constants": {k: round(v, 5) for k, v in model.as_dict().items()},
            }
        )
        print(
            f"{process.product_id:12s} {len(inputs):3d} batches  {seconds:7.2f} s  "
            f"rmse log X {model.rmse_log_x:.4f}"
        )
    total = sum(r["seconds"] for r in rows)
    print(f"total {total:.2f} s")
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "home": str(args.home),
        "total_seconds": round(total, 2),
        "processes": rows,
    }
    append_result("growth_fit", record)


if __name__ == "__main__":
    main()
