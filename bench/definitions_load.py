"""How long the Dagster definitions take to load: what every `biotwin run` and the UI's code
location pay before anything runs.

Each measurement is a fresh interpreter (as a command or the code server starts), timed from
start to exit: `python -c "import orchestration.definitions"` and, for the share of the
heaviest imports, the same with `-X importtime`. Reports the median of `--repeat` runs and the
five slowest top-level imports; appends one JSON line to bench/results/definitions_load.jsonl.
Usage:

    .venv/bin/python bench/definitions_load.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPORT = "import orchestration.definitions"


def timed_import() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", IMPORT], cwd=ROOT, check=True)
    return time.perf_counter() - start


def slowest_imports(n: int = 5) -> list[tuple[str, float]]:
    """(module, cumulative seconds) of the slowest imports, from `-X importtime`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[1].isdigit():
            rows.append((parts[2], int(parts[1]) / 1e6))
    top = [r for r in rows if r[0].startswith(("assets.", "orchestration.", "twin.", "dagster"))]
    return sorted(top, key=lambda r: -r[1])[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    timed_import()  # warm the file cache: the first start reads every .pyc from disk
    times = [timed_import() for _ in range(args.repeat)]
    result = {
        "at": datetime.now(UTC).isoformat(),
        "median_s": round(statistics.median(times), 2),
        "runs_s": [round(t, 2) for t in times],
        "slowest_imports_s": [(m, round(s, 2)) for m, s in slowest_imports()],
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / "definitions_load.jsonl"
    with out.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
