"""dbt command lines and manifest preparation: plain functions, no Dagster.

The manifest is prepared explicitly (`prepare_manifest`: `make`, the CLI and the test session
call it) and never at import: `orchestration.dbt` only reads the prepared manifest.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from biotwin.settings import PROJECT_ROOT

DBT_DIR = PROJECT_ROOT / "dbt_project"  # a fixed place in the project, not a setting
MANIFEST = DBT_DIR / "target" / "manifest.json"


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


def build_args(warehouse: Path, full_refresh: bool = False) -> list[str]:
    """`dbt build` arguments for one warehouse file (the profile reads the `warehouse` var)."""
    args = ["build", "--vars", json.dumps({"biotwin_warehouse": str(warehouse)})]
    if full_refresh:
        args.append("--full-refresh")
    return args
