{{ config(materialized='table') }}
-- Per historian file and measured series (site, equipment, parameter): when it starts and ends
-- and when it was loaded. Small (files × tags), so it is a table: overlapping exports are found
-- here once, for the dedup in int_historian__points_aligned and for dq_issues.
with points as (
    select * from {{ ref('int_historian__points_conformed') }}
    where conform_issue is null
),

spans as (
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
    from points
    group by site_id, equipment_id, parameter_id, tag, _file_sha256
),

overlapping as (
    select distinct one._file_sha256
    from spans as one
    inner join spans as other
        on one.site_id = other.site_id
        and one.equipment_id = other.equipment_id
        and one.parameter_id = other.parameter_id
        and one._file_sha256 <> other._file_sha256
        and one.first_ts_utc <= other.last_ts_utc
        and one.last_ts_utc >= other.first_ts_utc
)

select
    spans.site_id,
    spans.equipment_id,
    spans.parameter_id,
    spans.tag,
    spans._file_sha256,
    spans.loaded_at,
    spans.first_ts_utc,
    spans.last_ts_utc,
    spans.n_records,
    overlapping._file_sha256 is not null as overlaps_another_file
from spans
left join overlapping on spans._file_sha256 = overlapping._file_sha256
