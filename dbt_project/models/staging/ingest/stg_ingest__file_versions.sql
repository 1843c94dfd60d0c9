{{ config(materialized='table') }}
-- One row per loaded landing file, with its place among the versions of its path. A source
-- system that re-sends a file under the same name with other bytes (a re-export, a corrected
-- extract, the rest of a copy that had stopped) supersedes the earlier version: wherever two
-- files repeat a record, the latest version of a path wins over a superseded one, and the
-- superseded file stays, marked, for lineage (docs/ingestion.md, "Repeats and versions").
-- A version counts once it loaded data or repeats loaded bytes (a `duplicate`); a quarantined
-- re-send supersedes nothing, so good data is never withdrawn by a bad file.
with versions as (
    select
        file_sha256,
        source_path,
        system,
        site_id,
        status,
        rows_loaded,
        run_id,
        processed_at as ingested_at
    from {{ source('ingest', 'file_ledger') }}
    where file_sha256 is not null
        and status in ('loaded', 'partially_loaded', 'duplicate')
),

ordered as (
    select
        versions.*,
        row_number() over (
            partition by source_path order by ingested_at, file_sha256
        ) as file_version,
        count(*) over (partition by source_path) as n_versions,
        lead(file_sha256) over (
            partition by source_path order by ingested_at, file_sha256
        ) as superseded_by_sha256,
        lead(ingested_at) over (
            partition by source_path order by ingested_at, file_sha256
        ) as superseded_at_utc
    from versions
)

select
    ordered.*,
    ordered.superseded_by_sha256 is not null as is_superseded
from ordered
where ordered.status <> 'duplicate'
