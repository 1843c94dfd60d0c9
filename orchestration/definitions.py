"""The Dagster code location: loads assets and applies project-wide policy. Nothing else."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from assets.landing import landing_inventory
from orchestration.resources import PlantPaths

main_job = define_asset_job(
    "main", selection=AssetSelection.all(), description="Everything, in dependency order."
)

defs = Definitions(
    assets=[landing_inventory],
    jobs=[main_job],
    resources={"paths": PlantPaths()},
)
