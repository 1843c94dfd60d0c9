"""Latency from a new historian file landing to updated monitoring and forecasts of an
in-progress batch, on the demo warehouse.

A copy of the demo home is built with the newest historian export of an in-progress batch's
bioreactor held back (full pipeline, twin included). The file is then put into the landing zone
and the run a landing sensor requests is timed: raw/historian and everything downstream of it
(the dbt models that read it, the twin assets). Reported: the time until twin/batch_monitoring
(op twin_monitoring) and twin/outcome_forecast have materialised (from the run's start), each
step's duration, and the in-progress batch's last monitored hour before and after. Appends one
JSON line to bench/results/twin_latency.jsonl. Usage:

    .venv/bin/python bench/twin_latency.py [--home .biotwin]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from biotwin.warehouse import connect, one_row  # noqa: E402 - after the project is on the path

RESULTS = Path(__file__).parent / "results" / "twin_latency.jsonl"


def _last_monitored(warehouse: Path, batch: str) -> float | None:
    with connect(warehouse, read_only=True) as con:
        return one_row(
            con, "SELECT max(elapsed_h) FROM twin.batch_monitoring WHERE batch_id = ?", [batch]
        )[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, default=ROOT / ".biotwin")
    args = parser.parse_args()
    from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

    from orchestration.dbt_cli import prepare_manifest

    prepare_manifest()
    from assets.landing import INGESTION_ASSETS, reference_data
    from assets.resources import PlantPaths
    from assets.twin import TWIN_ASSETS
    from orchestration.dbt import dbt_models, dbt_resource
    from orchestration.definitions import defs

    everything = [reference_data, *INGESTION_ASSETS, dbt_models(), *TWIN_ASSETS]

    manifest = json.loads((args.home / "manifest.json").read_text())
    counts = Counter(b["product_id"] for b in manifest["batches"])
    running = [
        b
        for b in manifest["batches"]
        if b["state_at_extract"] == "in_progress"
        and any(p["equipment_id"].startswith("BR-") for p in b["phases"])
    ]
    # the in-progress batch of the product with most batches: the one with a monitoring model
    batch = max(running, key=lambda b: (counts[b["product_id"]], b["batch_id"]))
    bioreactors = [p["equipment_id"] for p in batch["phases"] if p["equipment_id"][:3] == "BR-"]
    equipment = bioreactors[-1]
    work = Path(tempfile.mkdtemp(prefix="twin-latency-"))
    shutil.copytree(args.home / "landing", work / "landing")
    shutil.copytree(ROOT / "reference", work / "reference")  # what `biotwin demo` loads
    # file names carry the unit as the site writes it (BR-201 at BSL, BR101 at BOS)
    files = sorted(
        f
        for f in (work / "landing" / "historian").rglob("*")
        if equipment in f.name or equipment.replace("-", "") in f.name
    )
    newest = files[-1]
    held = work / newest.name
    shutil.move(newest, held)
    paths = PlantPaths(
        landing=str(work / "landing"),
        reference=str(work / "reference"),
        warehouse=str(work / "warehouse.duckdb"),
        lineage=str(work / "lineage"),
    )
    resources = {"paths": paths, "dbt": dbt_resource()}
    instance = DagsterInstance.ephemeral()
    t0 = time.perf_counter()
    assert materialize(everything, instance=instance, resources=resources).success
    setup_s = time.perf_counter() - t0
    before = _last_monitored(work / "warehouse.duckdb", batch["batch_id"])

    shutil.move(held, newest)  # the file lands
    selection = AssetSelection.assets(AssetKey(["raw", "historian"])).downstream()
    # what a landing sensor's run materialises: the assets downstream of raw/historian that
    # a run can build (not the ledger and quarantine, which are written by ingestion itself)
    buildable = {key for a in everything for key in a.keys}
    keys = [k for k in selection.resolve(defs.resolve_asset_graph()) if k in buildable]
    start = time.perf_counter()
    result = materialize(everything, selection=keys, instance=instance, resources=resources)
    total_s = time.perf_counter() - start
    assert result.success
    logs = instance.all_logs(result.run_id)
    run_start = min(entry.timestamp for entry in logs)
    steps = {}
    done_at = {}
    for entry in logs:
        event = entry.dagster_event
        if event is not None and event.event_type_value == "STEP_SUCCESS":
            steps[event.step_key] = event.event_specific_data.duration_ms / 1000.0
            done_at[event.step_key] = entry.timestamp - run_start
    after = _last_monitored(work / "warehouse.duckdb", batch["batch_id"])
    updated = max(done_at["twin_monitoring"], done_at["twin__outcome_forecast"])
    record = {
        "at": datetime.now(UTC).isoformat(),
        "home": str(args.home),
        "batch": batch["batch_id"],
        "file": newest.name,
        "setup_full_run_s": round(setup_s, 1),
        "to_monitoring_and_forecast_s": round(updated, 1),
        "whole_run_s": round(total_s, 1),
        "steps_s": {k: round(v, 1) for k, v in sorted(steps.items())},
        "last_monitored_h_before": before,
        "last_monitored_h_after": after,
    }
    print(json.dumps(record, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
