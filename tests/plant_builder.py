"""Build a generated plant's warehouse the way the suite does (generator, the real ingestion
assets, the real dbt asset), as a separate process: the 80-batch validation plant is built this
way in the background while the rest of the suite runs, so the second core is not idle.

    python -m tests.plant_builder OUT BATCHES SEED

Writes OUT/landing, OUT/reference, OUT/manifest.json and OUT/warehouse.duckdb; exits 1 if the
dbt build fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

from orchestration.dbt_cli import prepare_manifest
from synthetic.generate import DEFAULT_START, generate
from tests.conftest import run_assets, run_dbt


def build(out: Path, batches: int, seed: int) -> Path:
    generate(out, batches, seed, DEFAULT_START)
    warehouse = out / "warehouse.duckdb"
    run_assets(out / "landing", warehouse, out / "reference")
    if not run_dbt(warehouse).success:
        raise SystemExit(f"dbt build failed on the {batches}-batch plant in {out}")
    return warehouse


if __name__ == "__main__":
    prepare_manifest()
    build(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
