"""The Dagster code location: loads assets and applies project-wide policy. Nothing else."""

from dagster import Definitions, colored_console_logger

from assets.landing import BOOKKEEPING_SPECS, INGESTION_ASSETS, reference_data
from assets.publication import published_state_asset
from assets.release import release_readiness_asset
from assets.resources import PlantPaths
from assets.twin import TWIN_ASSETS
from orchestration.dbt import dbt_models, dbt_resource
from orchestration.jobs import JOBS, SCHEDULES
from orchestration.lineage_runs import lineage_dagster_runs
from orchestration.progress import progress_logger
from orchestration.sensors import LANDING_SENSORS

# the release readiness follows every model and twin asset; readers read the published state,
# made after all of them
MODELS_AND_TWIN = [*dbt_models().keys, *(key for twin in TWIN_ASSETS for key in twin.keys)]
release_readiness = release_readiness_asset(MODELS_AND_TWIN)
published_state = published_state_asset([*MODELS_AND_TWIN, *release_readiness.keys])

defs = Definitions(
    assets=[
        reference_data,
        *INGESTION_ASSETS,
        *BOOKKEEPING_SPECS,
        dbt_models(),
        *TWIN_ASSETS,
        release_readiness,
        published_state,
    ],
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=[*LANDING_SENSORS, lineage_dagster_runs],
    resources={"paths": PlantPaths(), "dbt": dbt_resource()},
    # a run uses the loggers its run config names: the UI's runs only `console`; `biotwin run`
    # adds `progress` (orchestration/progress.py)
    loggers={"console": colored_console_logger, "progress": progress_logger},
)
