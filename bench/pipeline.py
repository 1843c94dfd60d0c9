"""Benchmark: the whole pipeline (ingestion + dbt build, generation excluded) against a plain
DuckDB load of the same raw files, in the same run.

Workload: a generated plant (400 batches ≈ 54 M historian rows by default, historian exports as
CSV at both sites), without the planted malformed files. Both sides run in a fresh child process
on a fresh DuckDB file, one after the other:

- plain:   typed read_csv of every historian export, read_csv of the LIMS and custody extracts,
           read_json of the batch records (instrument exports need a vendor parser and are
           left out of the plain side; they are 0.01 % of the rows)
- biotwin: reference data, the five ingestion assets and the dbt asset, materialised in-process
           with Dagster (ledger, hashing, contracts, quarantine, provenance, then every
           staging/intermediate/mart model and every dbt test)

Reports both times, the ratio plain / biotwin, biotwin's split into ingestion and dbt, and peak
RSS (the biotwin process and, separately, its largest child: the dbt subprocess). Appends one
JSON line to bench/results/pipeline.jsonl. Usage:

    .venv/bin/python bench/pipeline.py [--plant DIR] [--batches 400] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from common import append_result, run_child

PLAIN = """
import json, resource, sys, time
from pathlib import Path
from biotwin.warehouse import plain_connection
landing = Path(sys.argv[1])
def files(pattern):
    return [str(p) for p in sorted(landing.glob(pattern))]
con = plain_connection(sys.argv[2])
t = time.perf_counter()
con.execute("CREATE TABLE historian AS SELECT * FROM read_csv(?, header = true, columns = {"
            "'tag': 'VARCHAR', 'timestamp': 'TIMESTAMP', 'value': 'VARCHAR', "
            "'quality': 'VARCHAR', 'units': 'VARCHAR'})", [files("historian/*/*.csv")])
con.execute("CREATE TABLE lims AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
            [files("lims/*/*.csv")])
con.execute("CREATE TABLE custody AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
            [files("custody/*/*.csv")])
con.execute("CREATE TABLE mes AS SELECT * FROM read_json(?, format = 'auto', "
            "union_by_name = true)", [files("mes/*/*.json")])
seconds = time.perf_counter() - t
rows = sum(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
           for t in ("historian", "lims", "custody", "mes"))
print(json.dumps({"seconds": seconds, "rows": rows,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BIOTWIN = """
import json, resource, sys, time
from pathlib import Path
from dagster import DagsterInstance, materialize
from assets.landing import INGESTION_ASSETS, reference_data
from orchestration.dbt import dbt_models, dbt_resource
from assets.resources import PlantPaths
from biotwin.warehouse import connect
paths = PlantPaths(landing=sys.argv[1], warehouse=sys.argv[2], reference=sys.argv[3])
instance = DagsterInstance.ephemeral()
t = time.perf_counter()
ok = materialize([reference_data, *INGESTION_ASSETS], resources={"paths": paths},
                 instance=instance).success
ingest_seconds = time.perf_counter() - t
t = time.perf_counter()
ok = ok and materialize([dbt_models()], resources={"paths": paths, "dbt": dbt_resource()},
                        instance=instance, raise_on_error=False).success
dbt_seconds = time.perf_counter() - t
con = connect(Path(sys.argv[2]), read_only=True)
rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("raw.historian_point", "marts.fct_process_timeseries",
                  "marts.fct_batch_trajectory", "marts.dq_issues")}
print(json.dumps({"success": ok, "seconds": ingest_seconds + dbt_seconds,
                  "ingest_seconds": ingest_seconds, "dbt_seconds": dbt_seconds, "rows": rows,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_rss_child_mib":
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def _plant(path: Path | None, batches: int, seed: int) -> Path:
    plant = path or Path(tempfile.gettempdir()) / f"biotwin-bench-csv{batches}"
    if not (plant / "manifest.json").exists():
        biotwin = str(Path(sys.executable).with_name("biotwin"))
        cmd = [biotwin, "generate", "--out", str(plant), "--batches", str(batches)]
        cmd += ["--seed", str(seed), "--historian-format", "csv"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return plant


def _linked_landing(plant: Path, work: Path) -> Path:
    """The plant's landing zone as hard links (same bytes, no copy), malformed files left out."""
    manifest = json.loads((plant / "manifest.json").read_text())
    malformed = {i["path"] for i in manifest["mess"] if i["kind"] == "malformed_file"}
    landing = work / "landing"
    for path in sorted((plant / "landing").rglob("*")):
        if not path.is_file() or path.relative_to(plant).as_posix() in malformed:
            continue
        target = landing / path.relative_to(plant / "landing")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    return landing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plant", type=Path, default=None, help="a generated plant (CSV)")
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    plant = _plant(args.plant, args.batches, args.seed)
    work = Path(tempfile.mkdtemp(prefix="biotwin-bench-pipeline-"))
    try:
        landing = _linked_landing(plant, work)
        plain = run_child(PLAIN, str(landing), str(work / "plain.duckdb"))
        ours = run_child(
            BIOTWIN, str(landing), str(work / "warehouse.duckdb"), str(plant / "reference")
        )
    finally:
        shutil.rmtree(work)
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "plant": str(plant),
        "batches": len(json.loads((plant / "manifest.json").read_text())["batches"]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "plain": plain,
        "biotwin": ours,
        "ratio_plain_over_biotwin": round(plain["seconds"] / ours["seconds"], 3),
    }
    append_result("pipeline", result)
    print(json.dumps(result, indent=2))
    return 0 if ours["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
