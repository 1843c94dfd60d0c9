"""`biotwin compare-engines` (`make compare-engines`): one plant through the whole pipeline on
DuckDB and on Spark, then every mart compared (biotwin/engines.py).

Both runs are the ordinary Dagster job (`biotwin run`, once with `--engine spark`) in child
processes, each with its own home over one landing zone. The Spark home starts from a copy of
the DuckDB home's warehouse after its run, so both engines build from one ingestion (the same
raw rows, ingestion times and ledger: two ingestions would differ in when they loaded each
file, which the marts carry). The plant is generated into `<home>/plant` when absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from biotwin.engines import TableComparison, compare, spark_missing
from biotwin.query import format_table


def _run(home: Path, plant: Path, engine: str) -> tuple[int, float]:
    env = {
        **os.environ,
        "BIOTWIN_HOME": str(home),
        "BIOTWIN_LANDING": str(plant / "landing"),
        "BIOTWIN_ENGINE": engine,
    }
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], env=env, check=False)
    return done.returncode, time.perf_counter() - started


def report(results: list[TableComparison]) -> str:
    rows = [
        [
            r.table,
            r.rows_left,
            r.rows_right,
            r.only_left,
            r.only_right,
            ", ".join(r.columns_missing),
            "equal" if r.equal else "DIFFERENT",
            r.digest_left[:12],
            r.digest_right[:12],
        ]
        for r in results
    ]
    header = [
        "mart", "rows duckdb", "rows spark", "only duckdb", "only spark", "columns",
        "verdict", "digest duckdb", "digest spark",
    ]  # fmt: skip
    return format_table(header, rows)


def run_comparison(home: Path, batches: int, seed: int) -> int:
    missing = spark_missing()
    if missing:  # said before a DuckDB run that would be wasted
        print(f"compare-engines: {missing}")
        return 2
    plant = home / "plant"
    if not (plant / "manifest.json").exists():
        from synthetic.generate import DEFAULT_START, generate

        print(f"generating a {batches}-batch plant (seed {seed}) into {plant}")
        generate(plant, batches, seed, DEFAULT_START)
    times = {}
    for engine in ("duckdb", "spark"):
        if engine == "spark" and not (home / "spark" / "warehouse.duckdb").exists():
            (home / "spark").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(
                home / "duckdb" / "warehouse.duckdb", home / "spark" / "warehouse.duckdb"
            )
        print(f"the pipeline on {engine} …", flush=True)
        code, seconds = _run(home / engine, plant, engine)
        times[engine] = seconds
        if code != 0:
            print(f"compare-engines: the {engine} run failed (exit {code}): see its output above")
            return 1
    results = compare(
        home / "duckdb" / "warehouse.duckdb",
        home / "spark" / "spark",
        home / "spark" / "warehouse.duckdb",
    )
    print(report(results))
    different = [r.table for r in results if not r.equal]
    print(
        f"pipeline: duckdb {times['duckdb']:.1f} s, spark {times['spark']:.1f} s; "
        f"{len(results) - len(different)} of {len(results)} marts equal"
    )
    if different:
        print(f"compare-engines: different on the two engines: {', '.join(different)}")
        return 1
    return 0
