{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
-- Per historian file and measured series (site, equipment, parameter, tag): when it starts and
-- ends, how many readings and when the file was loaded. Append-only like the readings it
-- summarises: a build adds the files loaded since the last one (loaded_at is the watermark).
select
    site_id,
    equipment_id,
    parameter_id,
    tag,
    _file_sha256,
    min(_ingested_at) as loaded_at,
    min(ts_utc) as first_ts_utc,
    max(ts_utc) as last_ts_utc,
    count(*) as n_records
from {{ ref('int_historian__points_conformed') }}
where conform_issue is null
{% if is_incremental() %}
    and _ingested_at > {{ incremental_watermark('loaded_at') }}
{% endif %}
group by site_id, equipment_id, parameter_id, tag, _file_sha256
