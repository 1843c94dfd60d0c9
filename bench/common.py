"""What the benchmarks share: running one side of a comparison in a fresh interpreter, and
appending a run's figures to bench/results/<name>.jsonl (one JSON line per run)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"


def run_child(code: str, *args: str) -> dict:
    """Run `code` in a fresh Python in the project root; its last stdout line is a JSON
    object (each side of a comparison pays its own imports and starts with no cache)."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, check=False, capture_output=True, text=True
    )
    if out.returncode != 0:  # the child's own error, not a CalledProcessError with the code
        lines = out.stderr.strip().splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
        tail = "\n".join(lines[starts[-1] :] if starts else lines[-15:])
        raise SystemExit(f"benchmark child failed (exit {out.returncode}):\n{tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def append_result(name: str, record: dict) -> Path:
    """Append one run's record to bench/results/<name>.jsonl; the file's path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    return path


def generated_plant(path: Path | None, batches: int, seed: int) -> Path:
    """A generated plant with CSV historian exports at both sites, written the first time it
    is asked for (400 batches: about 5 GB and 4 minutes)."""
    plant = path or Path(tempfile.gettempdir()) / f"biotwin-bench-csv{batches}"
    if not (plant / "manifest.json").exists():
        biotwin = str(Path(sys.executable).with_name("biotwin"))
        cmd = [biotwin, "generate", "--out", str(plant), "--batches", str(batches)]
        cmd += ["--seed", str(seed), "--historian-format", "csv"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return plant


def plant_from_args(description: str | None) -> Path:
    """The plant a benchmark runs on, from `--plant DIR` or generated from `--batches` and
    `--seed` (400 and 7) the first time."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--plant", type=Path, default=None, help="a generated plant (CSV)")
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    return generated_plant(args.plant, args.batches, args.seed)


def linked_landing(plant: Path, work: Path, keep: Callable[[Path], bool] = lambda _: True) -> Path:
    """The plant's landing zone as hard links (same bytes, no copy) under work/landing: the
    files `keep` accepts (given the path below landing/), malformed files left out."""
    manifest = json.loads((plant / "manifest.json").read_text())
    malformed = {i["path"] for i in manifest["mess"] if i["kind"] == "malformed_file"}
    landing = work / "landing"
    for system in (plant / "landing").iterdir():  # every system's folder, even if kept empty
        if system.is_dir():
            (landing / system.name).mkdir(parents=True, exist_ok=True)
    for path in sorted((plant / "landing").rglob("*")):
        if not path.is_file() or path.relative_to(plant).as_posix() in malformed:
            continue
        relative = path.relative_to(plant / "landing")
        if not keep(relative):
            continue
        target = landing / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    return landing


def dbt_slowest(warehouse: Path, n: int = 8) -> dict:
    """The latest dbt build of a warehouse: its elapsed seconds, seconds by resource type
    (model, test, unit_test, seed) and its `n` slowest nodes (from run_results.json)."""
    from orchestration.dbt_cli import dbt_state_dir

    builds = sorted((dbt_state_dir(warehouse) / "builds").glob("*/run_results.json"))
    if not builds:
        return {}
    results = json.loads(builds[-1].read_text(encoding="utf-8"))
    nodes = [(r["execution_time"], r["unique_id"]) for r in results["results"]]
    by_type: dict[str, float] = {}
    for seconds, uid in nodes:
        by_type[uid.split(".")[0]] = by_type.get(uid.split(".")[0], 0.0) + seconds
    return {
        "elapsed_s": round(results["elapsed_time"], 1),
        "by_type_s": {k: round(v, 1) for k, v in sorted(by_type.items())},
        "slowest_s": {uid.split(".")[-1]: round(s, 2) for s, uid in sorted(nodes)[::-1][:n]},
    }


def ingest_then_build(paths) -> tuple[dict, object]:
    """In a benchmark's child: reference data and every ingestion asset, then the dbt build,
    materialised in-process on one ephemeral Dagster instance. ({success, seconds,
    ingest_seconds, dbt_seconds}, the instance, for what the child runs after)."""
    import time

    from dagster import DagsterInstance, materialize

    from assets.landing import INGESTION_ASSETS, reference_data
    from orchestration.dbt import dbt_models, dbt_resource

    instance = DagsterInstance.ephemeral()
    t = time.perf_counter()
    ok = materialize(
        [reference_data, *INGESTION_ASSETS], resources={"paths": paths}, instance=instance
    ).success
    ingest_seconds = time.perf_counter() - t
    t = time.perf_counter()
    ok = (
        ok
        and materialize(
            [dbt_models()],
            resources={"paths": paths, "dbt": dbt_resource()},
            instance=instance,
            raise_on_error=False,
        ).success
    )
    dbt_seconds = time.perf_counter() - t
    timing = {
        "success": ok,
        "seconds": ingest_seconds + dbt_seconds,
        "ingest_seconds": ingest_seconds,
        "dbt_seconds": dbt_seconds,
    }
    return timing, instance


def peak_rss() -> dict:
    """Peak resident memory of this process and of its largest child so far (MiB)."""
    import resource

    return {
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_child_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
