{{ config(materialized='table') }}
-- Per historian file and measured series (site, equipment, parameter): when it starts and ends
-- and when it was loaded, and whether another file covers part of the same series. Small
-- (files × tags): built whole from int_historian__file_series each time, since a new file can
-- make an old one overlapping; read by the dedup in int_historian__points_aligned and by
-- dq_issues.
with spans as (
    select * from {{ ref('int_historian__file_series') }}
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
