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

import json
import os
import platform
import shutil
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from common import append_result, linked_landing, plant_from_args, run_child

PLAIN = """
import json, resource, sys, time
from pathlib import Path
from biotwin.warehouse import plain_connection
landing = Path(sys.argv[1])
def files(pattern):
    return [str(p) for p in sorted(landing.glob(pattern))]
con = plain_connection(sys.argv[2])
t = time.perf_counter()
# each site's exports in their own dialect (a third site writes ';' and decimal commas): sniffed
# per site, read as text, as a plain load would
sites = sorted(p.name for p in (landing / "historian").iterdir() if p.is_dir())
con.execute("CREATE TABLE historian (tag VARCHAR, timestamp VARCHAR, value VARCHAR, "
            "quality VARCHAR, units VARCHAR)")
for site in sites:
    if files(f"historian/{site}/*.csv"):  # a site answering the PI Web API has none
        con.execute("INSERT INTO historian BY NAME SELECT * FROM read_csv(?, header = true, "
                    "all_varchar = true)", [files(f"historian/{site}/*.csv")])
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


def _postgres_rss_mib() -> float:
    """Resident memory of every PostgreSQL server process now (MiB)."""
    total = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:  # the process ended meanwhile
            continue
        if fields.get("Name", "").strip() == "postgres" and "VmRSS" in fields:
            total += int(fields["VmRSS"].split()[0]) / 1024
    return total


class PostgresPeak:
    """The largest total RSS of the server's processes, sampled twice a second while a run
    serves to it (its backends come and go with the connections)."""

    def __init__(self) -> None:
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_mib = max(self.peak_mib, _postgres_rss_mib())

    def __enter__(self) -> PostgresPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


BIOTWIN = """
import json, sys, time
from pathlib import Path
from dagster import materialize
sys.path.insert(0, "bench")
from common import dbt_slowest, ingest_then_build, peak_rss
from assets.publication import published_state_asset
from assets.resources import PlantPaths
from biotwin.postgres import writer_url
from biotwin.publication import current
from biotwin.warehouse import connect
paths = PlantPaths(landing=sys.argv[1], warehouse=sys.argv[2], reference=sys.argv[3])
timing, instance = ingest_then_build(paths)
# the publication readers read; with BIOTWIN_POSTGRES_WRITER_URL, the same step also serves it
# on PostgreSQL, and publish_seconds is both
t = time.perf_counter()
ok = timing["success"] and materialize([published_state_asset([])], resources={"paths": paths},
                                       instance=instance, raise_on_error=False).success
publish_seconds = time.perf_counter() - t
published = current(paths.published_path()) if ok else None
con = connect(Path(sys.argv[2]), read_only=True)
rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("raw.historian_point", "marts.fct_process_timeseries",
                  "marts.fct_batch_trajectory", "marts.dq_issues")}
print(json.dumps({**timing, "success": ok, "rows": rows, "dbt": dbt_slowest(Path(sys.argv[2])),
                  "publish_seconds": publish_seconds,
                  "published_mib": published.bytes / 2**20 if published else None,
                  "served_on_postgres": bool(writer_url()), **peak_rss()}))
"""


def main() -> int:
    plant = plant_from_args(__doc__)
    work = Path(tempfile.mkdtemp(prefix="biotwin-bench-pipeline-"))
    try:
        landing = linked_landing(plant, work)
        plain = run_child(PLAIN, str(landing), str(work / "plain.duckdb"))
        with PostgresPeak() as server:
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
        "postgres_server_peak_mib": round(server.peak_mib, 1)
        if ours["served_on_postgres"]
        else None,
    }
    append_result("pipeline", result)
    print(json.dumps(result, indent=2))
    return 0 if ours["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
