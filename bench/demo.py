"""How long the demo takes, step by step: `biotwin demo` (generation and the whole pipeline,
twin included) into a fresh BIOTWIN_HOME, as `make demo` runs it after install.

Reported: the wall time of the command and each step's own time from its `■ … done in` line.
Appends one JSON line to bench/results/demo.jsonl. Usage:

    .venv/bin/python bench/demo.py [--batches 24] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import append_result  # noqa: E402 - after the project is on the path

from lineage.code_version import code_version  # noqa: E402

DONE = re.compile(r"■ (\S+) done in ([0-9.]+) s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="biotwin-bench-demo-") as home:
        env = {**os.environ, "BIOTWIN_HOME": home, "BIOTWIN_PROGRESS": "plain"}
        command = [
            str(ROOT / ".venv" / "bin" / "biotwin"),
            "demo",
            "--batches",
            str(args.batches),
            "--seed",
            str(args.seed),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"biotwin demo failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr}")
    steps = {name: float(s) for name, s in DONE.findall(done.stdout)}
    for name, seconds in steps.items():
        print(f"{name:28s} {seconds:7.1f} s")
    print(f"{'wall time':28s} {wall:7.1f} s")
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "batches": args.batches,
        "seed": args.seed,
        "wall_seconds": round(wall, 1),
        "steps": steps,
    }
    append_result("demo", record)


if __name__ == "__main__":
    main()
