"""The Dagster code location: loads assets and applies project-wide policy. Nothing else."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from assets.landing import INGESTION_ASSETS, reference_data
from orchestration.dbt import dbt_models, dbt_resource
from orchestration.resources import PlantPaths
from orchestration.sensors import LANDING_SENSORS

main_job = define_asset_job(
    "main", selection=AssetSelection.all(), description="Everything, in dependency order."
)

defs = Definitions(
    assets=[reference_data, *INGESTION_ASSETS, dbt_models],
    jobs=[main_job],
    sensors=LANDING_SENSORS,
    resources={"paths": PlantPaths(), "dbt": dbt_resource()},
)
