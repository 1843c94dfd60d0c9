"""Benchmark: what one new day of historian files costs, in a warehouse holding the whole plant
against one holding only the batches that ran that day (issue 16's "O(new data), not
O(warehouse)").

Workload: a generated plant (400 batches by default, historian exports as CSV, the same plant
as bench/pipeline.py). The day is the plant's last full day of historian exports. Two warehouses
are built in fresh child processes, each from everything before that day, then the day's files
land and what a landing sensor runs is timed: raw/historian and the dbt build.

- whole: every file of the plant before the day
- window: only the files of the days the day's batches ran (from the earliest start of a batch
  running on the day), and only those batches' batch records

The timed step is the same files in both; the ratio whole / window is the target (≤ 1.5).
Appends one JSON line to bench/results/incremental_day.jsonl. Usage:

    .venv/bin/python bench/incremental_day.py [--plant DIR] [--batches 400] [--seed 7]
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sys
import tempfile
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from common import append_result, linked_landing, plant_from_args, run_child

CHILD = """
import json, shutil, sys, time
from pathlib import Path
from dagster import AssetKey, DagsterInstance, materialize
from assets.landing import INGESTION_ASSETS, reference_data
from orchestration.dbt import dbt_models, dbt_resource
from assets.resources import PlantPaths
from biotwin.warehouse import connect
sys.path.insert(0, "bench")
from common import dbt_slowest, peak_rss
landing, warehouse, reference, held = map(Path, sys.argv[1:5])
paths = PlantPaths(landing=str(landing), warehouse=str(warehouse), reference=str(reference))
resources = {"paths": paths, "dbt": dbt_resource()}
everything = [reference_data, *INGESTION_ASSETS, dbt_models()]
instance = DagsterInstance.ephemeral()
t = time.perf_counter()
assert materialize(everything, resources=resources, instance=instance).success
setup_seconds = time.perf_counter() - t
for path in sorted(held.rglob("*")):
    if path.is_file():
        target = landing / path.relative_to(held)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
t = time.perf_counter()
assert materialize(everything, resources=resources, instance=instance,
                   selection=[AssetKey(["raw", "historian"])]).success
ingest_seconds = time.perf_counter() - t
t = time.perf_counter()
assert materialize([dbt_models()], resources=resources, instance=instance).success
dbt_seconds = time.perf_counter() - t
with connect(warehouse, read_only=True) as con:
    rows = {name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
            for name in ("raw.historian_point", "marts.fct_process_timeseries")}
print(json.dumps({"setup_seconds": setup_seconds, "ingest_seconds": ingest_seconds,
                  "dbt_seconds": dbt_seconds, "day_seconds": ingest_seconds + dbt_seconds,
                  "rows": rows, "dbt": dbt_slowest(warehouse), **peak_rss()}))
"""

STAMP = re.compile(r"_(\d{6}|\d{8}|\d{12})(?=[_.])")  # _YYYYMM, _YYYYMMDD, _YYYYMMDDhhmm


def file_day(relative: Path) -> date | None:
    """The day (or, for a monthly extract, the month's last day) a landing file's name
    carries; None for names without one (batch records are named by batch)."""
    found = STAMP.search(relative.name)
    if found is None:
        return None
    digits = found.group(1)
    year, month = int(digits[:4]), int(digits[4:6])
    if len(digits) >= 8:
        return date(year, month, int(digits[6:8]))
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def last_full_day(plant: Path) -> date:
    """The latest day every bioreactor that exports that day has a file for: the plant's
    last day minus one (the last day is cut off at the extract)."""
    days = Counter(
        file_day(p.relative_to(plant / "landing"))
        for p in (plant / "landing" / "historian").rglob("*")
        if p.is_file()
    )
    return sorted(d for d in days if d is not None)[-2]


def day_batches(plant: Path, day: date) -> list[dict]:
    manifest = json.loads((plant / "manifest.json").read_text())
    return [
        b
        for b in manifest["batches"]
        if b["start_utc"][:10] <= day.isoformat() <= (b.get("end_utc") or "9999")[:10]
    ]


def main() -> int:
    plant = plant_from_args(__doc__)
    day = last_full_day(plant)
    running = day_batches(plant, day)
    since = min(date.fromisoformat(b["start_utc"][:10]) for b in running)
    ids = {b["batch_id"] for b in running}

    def is_new(rel: Path) -> bool:
        return rel.parts[0] == "historian" and file_day(rel) == day

    def before(rel: Path) -> bool:
        found = file_day(rel)
        return found is None or found < day

    def in_window(rel: Path) -> bool:
        found = file_day(rel)
        if found is None:  # batch records: only the day's batches
            return any(rel.name.startswith(f"{batch}_") for batch in ids)
        return since <= found < day

    sides = {}
    for side, keep in (("window", in_window), ("whole", before)):  # the short one first
        work = Path(tempfile.mkdtemp(prefix=f"biotwin-bench-day-{side}-"))
        try:
            landing = linked_landing(plant, work, keep)
            held = linked_landing(plant, work / "held", is_new)
            sides[side] = run_child(
                CHILD,
                str(landing),
                str(work / "warehouse.duckdb"),
                str(plant / "reference"),
                str(held),
            )
            sides[side]["landing_files"] = sum(1 for p in landing.rglob("*") if p.is_file())
        finally:
            shutil.rmtree(work)
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "plant": str(plant),
        "day": day.isoformat(),
        "day_batches": len(running),
        "window_since": since.isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        **sides,
        "ratio_whole_over_window": round(
            sides["whole"]["day_seconds"] / sides["window"]["day_seconds"], 2
        ),
    }
    append_result("incremental_day", result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
