"""Benchmark: historian ingestion against a plain DuckDB read of the same files: the CSV exports
against `read_csv` (default), or, with `--format json`, the PI Web API responses against
`read_json` with the readings unnested (the demo's Basel site writes them: `--plant .biotwin`).

Workload: the historian CSV exports of a generated plant (`generate --historian-format csv`,
400 batches ≈ 54 M rows by default), without the planted malformed export. Both sides run in a
fresh child process on a fresh DuckDB file, one after the other, on the same machine:

- plain:   CREATE TABLE t AS SELECT * FROM read_csv([files], columns = {…})  (typed: the
           timestamp as TIMESTAMP; `value` stays VARCHAR because it holds PI digital states)
- biotwin: assets.ingest.run.ingest(con, "historian", …)       (ledger, hashing every file,
           contract as SQL, quarantine, provenance, typed raw.historian_point)

Reports rows/s of both, their ratio (the target is ≥ 0.40) and each side's peak RSS, and appends
one JSON line to bench/results/ingest_historian.jsonl. Usage:

    .venv/bin/python bench/ingest_historian.py [--plant DIR] [--batches 400] [--seed 7]
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

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "ingest_historian.jsonl"

PLAIN_JSON = """
import json, resource, sys, time
from biotwin.warehouse import plain_connection
files = json.loads(open(sys.argv[1]).read())
con = plain_connection(sys.argv[2])
t = time.perf_counter()
con.execute(
    "CREATE TABLE t AS SELECT tag.Name AS tag, tag.UnitsAbbreviation AS units, "
    "r.Timestamp AS ts, r.Value::VARCHAR AS value, r.Good AS good "
    "FROM (SELECT unnest(Items) AS tag FROM read_json(?, format = 'auto', "
    "maximum_object_size = 268435456, columns = {'Items': 'STRUCT(Name VARCHAR, "
    "UnitsAbbreviation VARCHAR, Items STRUCT(\\"Timestamp\\" VARCHAR, \\"Value\\" JSON, "
    "Good BOOLEAN)[])[]'})) CROSS JOIN unnest(tag.Items) AS u(r)", [files])
seconds = time.perf_counter() - t
rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
print(json.dumps({"seconds": seconds, "rows": rows,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PLAIN = """
import json, resource, sys, time
from biotwin.warehouse import plain_connection
files = json.loads(open(sys.argv[1]).read())
con = plain_connection(sys.argv[2])
t = time.perf_counter()
# typed, one call per dialect: the exports of a site that writes ';' and decimal commas (the
# third site) are read with that site's delimiter, their times and values as text
by_site = {}
for f in files:
    by_site.setdefault(f.split("/")[-2], []).append(f)
con.execute("CREATE TABLE t (tag VARCHAR, timestamp VARCHAR, value VARCHAR, quality VARCHAR, "
            "units VARCHAR)")
for site, site_files in sorted(by_site.items()):
    delim = ";" if open(site_files[0]).readline().count(";") else ","
    types = "'VARCHAR'" if delim == ";" else "'TIMESTAMP'"
    con.execute("INSERT INTO t BY NAME SELECT * FROM read_csv(?, header = true, "
                f"delim = '{delim}', columns = {{'tag': 'VARCHAR', 'timestamp': {types}, "
                "'value': 'VARCHAR', 'quality': 'VARCHAR', 'units': 'VARCHAR'})", [site_files])
seconds = time.perf_counter() - t
rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
print(json.dumps({"seconds": seconds, "rows": rows,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BIOTWIN = """
import json, resource, sys, time
from pathlib import Path
from assets.ingest.run import ingest
from biotwin.warehouse import connect
con = connect(Path(sys.argv[2]))
t = time.perf_counter()
summary = ingest(con, "historian", Path(sys.argv[1]), Path(sys.argv[3]), "bench")
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rows": summary.rows_loaded,
                  "rows_quarantined": summary.rows_quarantined, "files": summary.by_status,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--plant",
        type=Path,
        default=None,
        help="a plant generated with --historian-format csv (made if absent)",
    )
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    args = parser.parse_args()
    plant = args.plant or Path(tempfile.gettempdir()) / f"biotwin-bench-csv{args.batches}"
    if not (plant / "manifest.json").exists():
        subprocess.run(
            [
                str(Path(sys.executable).with_name("biotwin")),
                "generate",
                "--out",
                str(plant),
                "--batches",
                str(args.batches),
                "--seed",
                str(args.seed),
                "--historian-format",
                "csv",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    manifest = json.loads((plant / "manifest.json").read_text())
    malformed = {i["path"] for i in manifest["mess"] if i["kind"] == "malformed_file"}
    work = Path(tempfile.mkdtemp(prefix="biotwin-bench-ingest-"))
    try:
        landing = work / "landing"
        files = []
        for path in sorted((plant / "landing" / "historian").glob(f"*/*.{args.format}")):
            if path.relative_to(plant).as_posix() in malformed:
                continue
            target = landing / "historian" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)  # same bytes, no copy
            files.append(str(target))
        listing = work / "files.json"
        listing.write_text(json.dumps(files))
        plain_code = PLAIN_JSON if args.format == "json" else PLAIN
        plain = _child(plain_code, str(listing), str(work / "plain.duckdb"))
        ours = _child(
            BIOTWIN, str(landing), str(work / "warehouse.duckdb"), str(plant / "reference")
        )
    finally:
        shutil.rmtree(work)
    plain_rate = plain["rows"] / plain["seconds"]
    our_rate = ours["rows"] / ours["seconds"]
    result = {
        "benchmark": f"ingest_historian_{args.format}",
        "plant": str(plant),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_version()} cpus={os.cpu_count()}",
        "files": len(files),
        "plain": {k: round(v, 2) if isinstance(v, float) else v for k, v in plain.items()},
        "biotwin": {k: round(v, 2) if isinstance(v, float) else v for k, v in ours.items()},
        "plain_rows_per_s": round(plain_rate),
        "biotwin_rows_per_s": round(our_rate),
        "speed_ratio": round(our_rate / plain_rate, 3),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
