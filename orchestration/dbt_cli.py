"""dbt command lines and manifest preparation: plain functions, no Dagster.

The manifest is prepared explicitly (`prepare_manifest`: `make`, the CLI and the test session
call it) and never at import: `orchestration.dbt` only reads the prepared manifest.json.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from biotwin.settings import PROJECT_ROOT

DBT_DIR = PROJECT_ROOT / "dbt_project"  # a fixed place in the project, not a setting
MANIFEST = DBT_DIR / "target" / "manifest.json"
PARSE_STATE = "partial_parse.msgpack"
BUILDS_KEPT = 10  # a warehouse's latest dbt builds whose artifacts (logs, run_results) are kept


def dbt_executable() -> str:
    """The dbt next to this interpreter (works without an activated venv), through its
    launcher `biotwin-dbt` (orchestration/dbt_launcher.py), which makes dbt die with the
    process that started it. A venv installed before the launcher existed has plain dbt."""
    launcher = Path(sys.executable).with_name("biotwin-dbt")
    return str(launcher if launcher.exists() else Path(sys.executable).with_name("dbt"))


def project_files() -> list[Path]:
    """The files a manifest is parsed from (models, macros, seeds, tests, project config)."""
    skip = {DBT_DIR / "target", DBT_DIR / "logs", DBT_DIR / "dbt_packages"}
    return [
        path
        for path in DBT_DIR.rglob("*")
        if path.is_file()
        and path.suffix in {".sql", ".yml", ".csv"}
        and not any(folder in path.parents for folder in skip)
    ]


def manifest_is_stale() -> bool:
    if not MANIFEST.exists():
        return True
    built = MANIFEST.stat().st_mtime
    return any(path.stat().st_mtime > built for path in project_files())


def prepare_manifest(force: bool = False) -> Path:
    """Write target/manifest.json with `dbt parse` when it is missing or older than the project
    (no warehouse connection needed)."""
    if not force and not manifest_is_stale():
        return MANIFEST
    cmd = [dbt_executable(), "parse", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{done.stdout}\n{done.stderr}")
    return MANIFEST


def build_args(
    warehouse: Path,
    full_refresh: bool = False,
    engine: str = "duckdb",
    lake: Path | None = None,
    spark_home: Path | None = None,
) -> list[str]:
    """`dbt build` arguments for one warehouse file (the profile reads the `warehouse` var);
    on the Spark engine, the `spark` target with the lake it reads and its own home."""
    variables = {"biotwin_warehouse": str(warehouse)}
    args = ["build"]
    if engine == "spark":
        variables |= {"biotwin_lake": str(lake), "biotwin_spark_home": str(spark_home)}
        args += ["--target", "spark"]
    args += ["--vars", json.dumps(variables)]
    if full_refresh:
        args.append("--full-refresh")
    return args


def dbt_state_dir(warehouse: Path) -> Path:
    """Where a warehouse's dbt builds keep their artifacts: beside the warehouse file (e.g.
    `warehouse.dbt/` beside `warehouse.duckdb`), never inside the project, which a plant
    building every few minutes would otherwise fill with a directory per build."""
    return warehouse.with_name(f"{warehouse.stem}.dbt")


def new_build_target(warehouse: Path, run_id: str) -> Path:
    """A fresh target directory for one build, seeded with the warehouse's parse state.

    dbt re-parses the whole project unless the previous parse was made with the same `--vars`
    and profile, and both name the warehouse file: one parse state per warehouse lets every
    build after the first parse only what changed (about 3 s a build on the demo)."""
    state = dbt_state_dir(warehouse)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = state / "builds" / f"{stamp}-{run_id[:8]}"
    target.mkdir(parents=True)
    saved = state / PARSE_STATE
    if saved.exists():
        shutil.copyfile(saved, target / PARSE_STATE)
    return target


def finish_build_target(target: Path, warehouse: Path, keep: int = BUILDS_KEPT) -> None:
    """Keep this build's parse state for the next build (copied whole, then renamed into
    place), and only the `keep` newest build directories."""
    state = dbt_state_dir(warehouse)
    parsed = target / PARSE_STATE
    if parsed.exists():
        tmp = state / f"{PARSE_STATE}.tmp"
        shutil.copyfile(parsed, tmp)
        tmp.replace(state / PARSE_STATE)
    builds = sorted(path for path in (state / "builds").iterdir() if path.is_dir())
    for old in builds[: max(len(builds) - keep, 0)]:
        shutil.rmtree(old, ignore_errors=True)
