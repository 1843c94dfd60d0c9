"""The one place where environment variables become paths and options.

Read at call time, never at import time, so tests can point a fresh `Settings` at a temporary
directory without reloading modules. Every setting has a working local default under
`BIOTWIN_HOME` (default `./.biotwin`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    home: Path
    landing: Path
    warehouse: Path
    reference: Path
    dagster_home: Path
    lineage_dir: Path
    reports_dir: Path  # plots and pages the UI links to (served by `biotwin ui`)
    reports_url: str  # where `biotwin ui` serves reports_dir
    openlineage_url: str | None
    openlineage_namespace: str
    published_dir: Path  # the read-only states every reader reads (biotwin/publication.py)
    publications_kept: int  # how many of them stay (publish keeps at least 2)
    engine: str  # what builds the marts: duckdb (the embedded default) or spark
    lake: Path  # the raw data as Parquet for an engine other than DuckDB (assets/lake.py)
    spark_home: Path  # the Spark engine's tables, metastore and scratch


ENGINES = ("duckdb", "spark")


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    home = Path(env.get("BIOTWIN_HOME", ".biotwin")).resolve()

    def path(name: str, default: Path) -> Path:
        value = env.get(name)
        return Path(value).resolve() if value else default

    warehouse = path("BIOTWIN_WAREHOUSE", home / "warehouse.duckdb")
    return Settings(
        home=home,
        landing=path("BIOTWIN_LANDING", home / "landing"),
        warehouse=warehouse,
        reference=path("BIOTWIN_REFERENCE", PROJECT_ROOT / "reference"),
        dagster_home=path("DAGSTER_HOME", home / "dagster"),
        lineage_dir=path("BIOTWIN_LINEAGE_DIR", home / "lineage"),
        reports_dir=path("BIOTWIN_REPORTS_DIR", home / "reports"),
        reports_url=env.get("BIOTWIN_REPORTS_URL", "http://127.0.0.1:3001").rstrip("/"),
        openlineage_url=env.get("OPENLINEAGE_URL") or None,
        openlineage_namespace=env.get("OPENLINEAGE_NAMESPACE", "biotwin"),
        published_dir=path("BIOTWIN_PUBLISHED_DIR", warehouse.parent / "published"),
        publications_kept=_count(env.get("BIOTWIN_PUBLICATIONS_KEPT"), default=5),
        engine=_engine(env.get("BIOTWIN_ENGINE")),
        lake=path("BIOTWIN_LAKE", warehouse.parent / "lake"),
        spark_home=path("BIOTWIN_SPARK_HOME", warehouse.parent / "spark"),
    )


def _engine(value: str | None) -> str:
    engine = (value or "duckdb").strip().lower()
    if engine not in ENGINES:
        msg = f"BIOTWIN_ENGINE={value!r}: expected one of {', '.join(ENGINES)}"
        raise ValueError(msg)
    return engine


def _count(value: str | None, default: int) -> int:
    """A whole-number setting: unset or not a number gives the default."""
    try:
        return int(value) if value else default
    except ValueError:
        return default
