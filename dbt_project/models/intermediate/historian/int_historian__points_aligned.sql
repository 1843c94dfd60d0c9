-- The historian knows no batch: a reading belongs to a batch because one of the batch's phases
-- ran on that equipment at that time (window [start, end), an inequality join that every engine
-- runs). Readings outside every window (idle equipment) belong to no batch and are not kept here.
-- Overlapping exports repeat readings: per batch, parameter and instant the first-loaded one wins.
with points as (
    select * from {{ ref('int_historian__points_conformed') }}
    where conform_issue is null
),

windows as (
    select
        batch_id,
        product_id,
        phase,
        equipment_id,
        started_at_utc,
        window_end_utc,
        batch_started_at_utc,
        record_loaded_at
    from {{ ref('int_batch_phases__latest') }}
),

aligned as (
    select
        windows.batch_id,
        windows.product_id,
        points.parameter_id,
        points.ts_utc,
        {{ hours_between('windows.batch_started_at_utc', 'points.ts_utc') }} as elapsed_h,
        windows.phase,
        points.equipment_id,
        points.value,
        points.unit,
        points.source_value,
        points.source_unit,
        points.quality,
        points.digital_state,
        points.is_plausible,
        points.tag as source_tag,
        points._record_id,
        points._file_sha256,
        points._ingested_at,
        windows.record_loaded_at,
        row_number() over (
            partition by windows.batch_id, points.parameter_id, points.ts_utc
            order by points._ingested_at, points._record_id
        ) as reading_rank
    from points
    inner join windows
        on points.equipment_id = windows.equipment_id
        and points.ts_utc >= windows.started_at_utc
        and points.ts_utc < windows.window_end_utc
)

select
    batch_id,
    product_id,
    parameter_id,
    ts_utc,
    elapsed_h,
    phase,
    equipment_id,
    value,
    unit,
    source_value,
    source_unit,
    quality,
    digital_state,
    (quality = 'Good' and digital_state is null and is_plausible) as is_usable,
    source_tag,
    _record_id,
    _file_sha256,
    _ingested_at,
    record_loaded_at
from aligned
where reading_rank = 1
