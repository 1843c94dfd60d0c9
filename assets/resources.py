"""Dagster resources of the assets: thin wrappers over `biotwin.settings` (beside the assets,
which depend on them; orchestration only wires them in)."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from biotwin.settings import settings


class PlantPaths(ConfigurableResource):
    """Where the landing zone, reference data and warehouse are.

    Empty fields mean "from the environment at run time" (BIOTWIN_* variables), so loading the
    definitions never freezes a path; tests pass explicit paths.
    """

    landing: str = ""
    reference: str = ""
    warehouse: str = ""
    lineage: str = ""
    published: str = ""
    engine: str = ""

    def landing_path(self) -> Path:
        return Path(self.landing) if self.landing else settings().landing

    def reference_path(self) -> Path:
        return Path(self.reference) if self.reference else settings().reference

    def warehouse_path(self) -> Path:
        return Path(self.warehouse) if self.warehouse else settings().warehouse

    def engine_name(self) -> str:
        """What builds the marts (BIOTWIN_ENGINE: duckdb, the default, or spark)."""
        return self.engine or settings().engine

    def lake_path(self) -> Path:
        """The raw data as Parquet for the Spark engine: beside an explicitly given
        warehouse, else the setting (BIOTWIN_LAKE)."""
        return Path(self.warehouse).parent / "lake" if self.warehouse else settings().lake

    def spark_home_path(self) -> Path:
        return Path(self.warehouse).parent / "spark" if self.warehouse else settings().spark_home

    def published_path(self) -> Path:
        """Where publications go: given, else beside an explicitly given warehouse (a test's),
        else the setting (BIOTWIN_PUBLISHED_DIR, default beside the warehouse)."""
        if self.published:
            return Path(self.published)
        if self.warehouse:
            return Path(self.warehouse).parent / "published"
        return settings().published_dir

    def lineage_path(self) -> Path:
        """The OpenLineage outbox folder."""
        return Path(self.lineage) if self.lineage else settings().lineage_dir
