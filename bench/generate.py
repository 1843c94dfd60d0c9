"""Benchmark: `biotwin generate` at plant scale — wall time, peak memory, historian rows.

Runs the generator in a child process (so its peak RSS is measured alone) and appends one JSON
line to bench/results/generate.jsonl. Usage:

    .venv/bin/python bench/generate.py [--batches 400] [--seed 7] [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "generate.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated plant")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="biotwin-bench-")) / "plant"
    biotwin = str(Path(sys.executable).with_name("biotwin"))
    cmd = [
        biotwin,
        "generate",
        "--out",
        str(out),
        "--batches",
        str(args.batches),
        "--seed",
        str(args.seed),
    ]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    manifest = json.loads((out / "manifest.json").read_text())
    size = sum(p.stat().st_size for p in (out / "landing").rglob("*") if p.is_file())
    result = {
        "benchmark": "generate",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "batches": args.batches,
        "seed": args.seed,
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(peak_kb / 1024, 1),
        "historian_rows": manifest["historian_rows"],
        "historian_rows_per_s": round(manifest["historian_rows"] / seconds),
        "landing_bytes": size,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2))
    if not args.keep and args.out is None:
        shutil.rmtree(out.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
