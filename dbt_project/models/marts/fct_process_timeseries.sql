-- depends_on: {{ ref('int_historian__points_conformed') }}
-- depends_on: {{ ref('int_batch_phases__latest') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='batch_id',
        on_schema_change='fail'
    )
}}
-- Incremental by batch: a run rebuilds whole batches, those touched by files loaded since the
-- last build (new readings on their equipment in their time span, or a new batch-record
-- version). _batch_loaded_at is the watermark. A reference-data change needs --full-refresh.
with aligned as (
    select * from {{ ref('int_historian__points_aligned') }}
),

{% if is_incremental() %}
watermark as (
    select coalesce(
        max(_batch_loaded_at),
        {{ dbt.safe_cast("'1900-01-01 00:00:00+00'", api.Column.translate_type('timestamp')) }}
    ) as loaded_at
    from {{ this }}
),

new_readings as (
    select
        points.equipment_id,
        min(points.ts_utc) as first_ts_utc,
        max(points.ts_utc) as last_ts_utc
    from {{ ref('int_historian__points_conformed') }} as points
    where points._ingested_at > (select loaded_at from watermark)
        and points.conform_issue is null
    group by points.equipment_id
),

touched_batches as (
    select phases.batch_id
    from {{ ref('int_batch_phases__latest') }} as phases
    inner join new_readings
        on phases.equipment_id = new_readings.equipment_id
        and phases.started_at_utc <= new_readings.last_ts_utc
        and phases.window_end_utc > new_readings.first_ts_utc
    union
    select phases.batch_id
    from {{ ref('int_batch_phases__latest') }} as phases
    where phases.record_loaded_at > (select loaded_at from watermark)
),
{% endif %}

selected as (
    select * from aligned
    {% if is_incremental() %}
    where aligned.batch_id in (select batch_id from touched_batches)
    {% endif %}
)

select
    batch_id,
    parameter_id,
    ts_utc,
    {{ dbt.cast('elapsed_h', api.Column.translate_type('double')) }} as elapsed_h,
    phase,
    equipment_id,
    value,
    unit,
    source_value,
    source_unit,
    quality,
    digital_state,
    is_usable,
    source_tag,
    _record_id,
    _file_sha256,
    max(
        case when _ingested_at > record_loaded_at then _ingested_at else record_loaded_at end
    ) over (partition by batch_id) as _batch_loaded_at
from selected
