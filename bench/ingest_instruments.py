"""Benchmark: instrument-file ingestion (allotropy) in files per second.

Workload: every instrument export of a plant's landing zone (`landing/instruments/`; the
80-batch plant of `python -m tests.plant_builder OUT 80 SEED` holds about 420), ingested into a
fresh DuckDB file by `assets.ingest.run.ingest(con, "instruments", …)` in a fresh child process:
the parser workers' start, the parse, the contract, the ledger and the raw rows. Run with
`--workers 1` (one parser, the ingesting thread) and with the default (one per core) for the
parallel speed-up. Reports wall seconds, files/s, rows and a content digest of the raw rows
(the same on both sides: parsing in parallel changes nothing), and appends one JSON line to
bench/results/ingest_instruments.jsonl. Usage:

    .venv/bin/python bench/ingest_instruments.py --plant /tmp/plant80 [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project

from common import append_result, run_child

CHILD = """
import json, resource, sys, tempfile, time
from pathlib import Path
from assets.ingest.run import ingest
from biotwin.warehouse import connect
plant = Path(sys.argv[1])
con = connect(Path(tempfile.mkdtemp()) / "w.duckdb")
t = time.perf_counter()
summary = ingest(con, "instruments", plant / "landing", plant / "reference", "bench", settle_s=0)
seconds = time.perf_counter() - t
rows, digest = con.execute(
    "SELECT count(*), bit_xor(hash(_record_id, field, value, value_raw, unit, sample_id, "
    "measured_at_raw)) FROM raw.instrument_measurement").fetchone()
print(json.dumps({"seconds": seconds, "files": summary.files_seen, "rows": rows,
    "digest": str(digest), "by_status": summary.by_status,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plant", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=None, help="BIOTWIN_PARSE_WORKERS")
    args = parser.parse_args()
    if args.workers is not None:
        os.environ["BIOTWIN_PARSE_WORKERS"] = str(args.workers)
    result = run_child(CHILD, str(args.plant.resolve()))
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.node(),
        "cores": os.cpu_count(),
        "workers": os.environ.get("BIOTWIN_PARSE_WORKERS", "default"),
        "plant": str(args.plant),
        **result,
        "files_per_s": result["files"] / result["seconds"],
    }
    append_result("ingest_instruments", record)
    print(
        f"{record['files']} files in {record['seconds']:.1f} s: "
        f"{record['files_per_s']:.1f} files/s, {record['rows']} rows, "
        f"workers {record['workers']}, peak RSS {record['peak_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
