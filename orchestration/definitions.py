"""The Dagster code location: loads assets and applies project-wide policy. Nothing else."""

from dagster import Definitions

from assets.landing import INGESTION_ASSETS, reference_data
from assets.twin import TWIN_ASSETS
from orchestration.dbt import dbt_models, dbt_resource
from orchestration.jobs import JOBS, SCHEDULES
from orchestration.resources import PlantPaths
from orchestration.sensors import LANDING_SENSORS

defs = Definitions(
    assets=[reference_data, *INGESTION_ASSETS, dbt_models, *TWIN_ASSETS],
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=LANDING_SENSORS,
    resources={"paths": PlantPaths(), "dbt": dbt_resource()},
)
