"""What the benchmarks share: running one side of a comparison in a fresh interpreter, and
appending a run's figures to bench/results/<name>.jsonl (one JSON line per run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"


def run_child(code: str, *args: str) -> dict:
    """Run `code` in a fresh Python in the project root; its last stdout line is a JSON
    object (each side of a comparison pays its own imports and starts with no cache)."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def append_result(name: str, record: dict) -> Path:
    """Append one run's record to bench/results/<name>.jsonl; the file's path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    return path
