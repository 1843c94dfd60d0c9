"""Peer benchmark: one site's historian aligned to its batches by a hand-written pandas
script, as a competent process scientist would write it, beside biotwin's ingestion + dbt
build of the same files.

The peer reads the site's historian CSV exports and batch-record JSON, maps tags to
parameters and equipment with the reference CSVs, converts units to the canonical unit,
resolves local times with the site's zone (the DST fall-back hour left out), drops repeated
readings, and attributes each reading to the batch whose phase ran on that equipment at that
time (merge_asof on the phase start, then inside [start, end)), with elapsed hours. No
contract, no quarantine, no ledger, no lineage, no audit.

biotwin runs on a landing zone holding only the same files (hard links): reference data,
every ingestion asset and the dbt build, in-process with Dagster. Both sides run in a fresh
child process, one after the other. Reported: each side's seconds and peak RSS, the ratio
biotwin / peer, and the rows each attributed to a batch (a sanity check: on the demo's BOS both
attach the same Good readings; biotwin also keeps the Bad, Questionable and Substituted ones and
the digital states, flagged). Appends one JSON line to
bench/results/peer_pandas.jsonl. Usage (a plant with CSV historian exports, e.g. the demo):

    .venv/bin/python bench/peer_pandas.py [--plant .biotwin] [--site BOS]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from common import ROOT, append_result, run_child

PEER = """
import json, resource, sys, time
from pathlib import Path
import numpy as np
import pandas as pd

landing, reference, site = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
sites = pd.read_csv(reference / "sites.csv")
tz = sites.loc[sites.site_id == site, "timezone"].iloc[0]
tags = pd.read_csv(reference / "tags.csv").query("site_id == @site")
params = pd.read_csv(reference / "parameters.csv")[["parameter_id", "canonical_unit"]]
units = pd.read_csv(reference / "units.csv")

# historian: every export, numbers only, Good quality only
frames = [pd.read_csv(f, dtype=str) for f in sorted((landing / "historian" / site).glob("*.csv"))]
h = pd.concat(frames, ignore_index=True)
h["value"] = pd.to_numeric(h["value"], errors="coerce")
h = h[h["value"].notna() & h["quality"].fillna("Good").eq("Good")]
h = h.merge(tags[["tag", "equipment_id", "parameter_id", "source_unit"]], on="tag")
h = h.merge(params, on="parameter_id")
h = h.merge(units, how="left", left_on=["source_unit", "canonical_unit"],
            right_on=["from_unit", "to_unit"])
same = h["source_unit"] == h["canonical_unit"]
h["value"] = np.where(same, h["value"], h["value"] * h["factor"] + h["offset"])
h = h[same | h["factor"].notna()]
local = pd.to_datetime(h["timestamp"])
h["ts_utc"] = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
h = h[h["ts_utc"].notna()].drop_duplicates(["tag", "ts_utc"])

# batch records: the latest version of each batch, its phases as UTC windows
records = {}
for f in sorted((landing / "mes" / site).glob("*.json")):
    try:
        doc = json.loads(f.read_text())
    except ValueError:
        continue
    known = records.get(doc["batch_id"])
    if known is None or doc["record_version"] > known["record_version"]:
        records[doc["batch_id"]] = doc
phases = pd.DataFrame(
    [{"batch_id": b, "equipment_id": p["equipment_id"], "start": p["start"], "end": p["end"]}
     for b, doc in records.items() for p in doc["phases"]]
)
phases["start"] = pd.to_datetime(phases["start"], utc=True)
phases["end"] = pd.to_datetime(phases["end"], utc=True).fillna(pd.Timestamp.max.tz_localize("UTC"))
phases["batch_start"] = phases.groupby("batch_id")["start"].transform("min")

# attribution: the phase that started last on that equipment before the reading
h = h.sort_values("ts_utc")
aligned = pd.merge_asof(h, phases.sort_values("start"), left_on="ts_utc", right_on="start",
                        by="equipment_id", direction="backward")
aligned = aligned[aligned["batch_id"].notna() & (aligned["ts_utc"] < aligned["end"])]
aligned["elapsed_h"] = (aligned["ts_utc"] - aligned["batch_start"]).dt.total_seconds() / 3600
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rows_aligned": len(aligned),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BIOTWIN = """
import json, sys
from pathlib import Path
sys.path.insert(0, "bench")
from common import ingest_then_build, peak_rss
from assets.resources import PlantPaths
from biotwin.warehouse import connect
paths = PlantPaths(landing=sys.argv[1], warehouse=sys.argv[2], reference=sys.argv[3],
                   lineage=sys.argv[4])
timing, _ = ingest_then_build(paths)
con = connect(Path(sys.argv[2]), read_only=True)
rows = con.execute("SELECT count(*) FROM marts.fct_process_timeseries").fetchall()[0][0]
print(json.dumps({**timing, "rows_aligned": rows, **peak_rss()}))
"""

SYSTEMS = ("historian", "mes", "lims", "instruments", "custody")


def _site_landing(plant: Path, site: str, work: Path) -> Path:
    """The site's historian exports and batch records as hard links (same bytes, no copy);
    the other systems' folders empty, as a site without those extracts yet."""
    landing = work / "landing"
    for system in SYSTEMS:
        (landing / system).mkdir(parents=True)
    for system in ("historian", "mes"):
        for path in sorted((plant / "landing" / system / site).glob("*")):
            if path.is_file():
                target = landing / system / site / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, target)
    return landing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plant", type=Path, default=ROOT / ".biotwin")
    parser.add_argument("--site", default="BOS", help="a site whose historian exports CSV")
    args = parser.parse_args()
    if not any((args.plant / "landing" / "historian" / args.site).glob("*.csv")):
        sys.exit(f"no historian CSV exports of {args.site} under {args.plant}/landing: make demo")
    reference = args.plant / "reference"
    work = Path(tempfile.mkdtemp(prefix="biotwin-bench-peer-"))
    try:
        landing = _site_landing(args.plant, args.site, work)
        peer = run_child(PEER, str(landing), str(reference), args.site)
        ours = run_child(
            BIOTWIN,
            str(landing),
            str(work / "warehouse.duckdb"),
            str(reference),
            str(work / "lineage"),
        )
    finally:
        shutil.rmtree(work)
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "plant": str(args.plant),
        "site": args.site,
        "peer": peer,
        "biotwin": ours,
        "ratio_biotwin_over_peer": round(ours["seconds"] / peer["seconds"], 2),
    }
    append_result("peer_pandas", result)
    print(json.dumps(result, indent=2))
    return 0 if ours["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
