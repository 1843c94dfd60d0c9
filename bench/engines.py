"""Benchmark: the dbt build of one plant on DuckDB against Spark local[2], from one ingestion.

Workload: a generated plant (default 80 batches; `--batches 400` for the large one). A child
process ingests it into a fresh warehouse (reference data and the five ingestion assets); the
file is then copied, and two children build the marts through the dbt asset, one per engine:
DuckDB (the embedded default), and Spark (`BIOTWIN_ENGINE=spark`: the lake export, dbt-spark in
session mode with its JVM, the marts attached as views). Each side's wall time and the peak
memory of its whole process tree (Python, dbt and the JVM, sampled every 0.2 s from /proc) are
reported with the Spark/DuckDB ratio, and one JSON line is appended to
bench/results/engines.jsonl. Needs the Spark engine (`make install-spark`). Usage:

    .venv/bin/python bench/engines.py [--plant DIR] [--batches 80] [--seed 7]
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from common import ROOT, append_result, plant_from_args

INGEST = """
import json, sys, time
from pathlib import Path
from dagster import DagsterInstance, materialize
from assets.landing import INGESTION_ASSETS, reference_data
from assets.resources import PlantPaths
paths = PlantPaths(landing=sys.argv[1], reference=sys.argv[2], warehouse=sys.argv[3])
t = time.perf_counter()
ok = materialize([reference_data, *INGESTION_ASSETS], resources={"paths": paths},
                 instance=DagsterInstance.ephemeral()).success
print(json.dumps({"success": ok, "seconds": time.perf_counter() - t}))
"""

BUILD = """
import json, sys, time
from dagster import DagsterInstance, materialize
from assets.resources import PlantPaths
from orchestration.dbt import dbt_models, dbt_resource
paths = PlantPaths(landing=sys.argv[1], reference=sys.argv[2], warehouse=sys.argv[3],
                   engine=sys.argv[4])
t = time.perf_counter()
ok = materialize([dbt_models()], resources={"paths": paths, "dbt": dbt_resource()},
                 instance=DagsterInstance.ephemeral(), raise_on_error=False).success
print(json.dumps({"success": ok, "seconds": time.perf_counter() - t}))
"""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_rss_mib(pid: int) -> float:
    """Resident memory of `pid` and every descendant (MiB)."""
    tree, todo, total = _children(), [pid], 0
    while todo:
        p = todo.pop()
        todo += tree.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def measured(code: str, *args: str) -> dict:
    """Run `code` in a fresh interpreter; its JSON result with the tree's peak memory."""
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_mib(child.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise SystemExit(f"benchmark child failed (exit {child.returncode})")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_tree_mib": round(peak)}


def main() -> None:
    plant = plant_from_args(__doc__.splitlines()[0])
    work = Path(tempfile.mkdtemp(prefix="biotwin-engines-"))
    landing, reference = str(plant / "landing"), str(ROOT / "reference")
    duck, spark = work / "duckdb" / "warehouse.duckdb", work / "spark" / "warehouse.duckdb"
    duck.parent.mkdir(parents=True)
    spark.parent.mkdir(parents=True)
    try:
        ingest = measured(INGEST, landing, reference, str(duck))
        shutil.copyfile(duck, spark)
        on_duckdb = measured(BUILD, landing, reference, str(duck), "duckdb")
        on_spark = measured(BUILD, landing, reference, str(spark), "spark")
        lake_mib = sum(f.stat().st_size for f in (work / "spark" / "lake").rglob("*")) / 2**20
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.node(),
        "cores": os.cpu_count(),
        "plant": str(plant),
        "ingest": ingest,
        "duckdb": on_duckdb,
        "spark": on_spark,
        "lake_mib": round(lake_mib),
        "time_ratio_spark_duckdb": on_spark["seconds"] / on_duckdb["seconds"],
    }
    append_result("engines", record)
    print(
        f"ingestion {ingest['seconds']:.1f} s; dbt build: duckdb {on_duckdb['seconds']:.1f} s "
        f"(peak {on_duckdb['peak_tree_mib']} MiB), spark local[2] {on_spark['seconds']:.1f} s "
        f"(peak {on_spark['peak_tree_mib']} MiB, JVM included; lake {lake_mib:.0f} MiB); "
        f"spark/duckdb {record['time_ratio_spark_duckdb']:.2f}x; "
        f"success {on_duckdb['success']} / {on_spark['success']}"
    )


if __name__ == "__main__":
    main()
