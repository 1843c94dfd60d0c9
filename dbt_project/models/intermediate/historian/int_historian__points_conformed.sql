{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
-- Every historian reading with its parameter, equipment, UTC time and canonical value.
-- Nothing is dropped here: readings that cannot be conformed carry the reason
-- (unmapped_tag, unknown_unit, dst_*), and dq_issues reports them.
-- Incremental and append-only: a loaded file's readings never change, so a build conforms only
-- the files loaded since the last one (_ingested_at is the watermark; the raw scan then reads
-- only those files' rows). A change of the tag, unit or parameter reference rows needs
-- --full-refresh (docs/conformed.md), as for the marts built from this.
with points as (
    select * from {{ ref('stg_historian__points') }}
    {% if is_incremental() %}
        where _ingested_at > {{ incremental_watermark('_ingested_at') }}
    {% endif %}
),

local_times as (
    select site_id, ts_local, ts_utc, time_issue
    from {{ ref('int_historian__local_times_resolved') }}
),

tags as (
    select site_id, tag, equipment_id, parameter_id, source_unit
    from {{ ref('stg_ref__tags') }}
),

parameters as (
    select parameter_id, canonical_unit, plausible_min, plausible_max
    from {{ ref('stg_ref__parameters') }}
),

units as (
    select from_unit, to_unit, factor, unit_offset from {{ ref('stg_ref__units') }}
),

mapped as (
    select
        points._record_id,
        points._row_number,
        points._position,
        points._file_sha256,
        points._ingested_at,
        points.site_id,
        points.tag,
        tags.equipment_id,
        tags.parameter_id,
        coalesce(points.ts_utc, local_times.ts_utc) as ts_utc,
        points.ts_local,
        local_times.time_issue,
        points.value as source_value,
        coalesce(nullif(trim(points.units), ''), tags.source_unit) as source_unit,
        parameters.canonical_unit,
        parameters.plausible_min,
        parameters.plausible_max,
        points.quality,
        points.digital_state
    from points
    left join local_times
        on points.site_id = local_times.site_id
        and points.ts_local = local_times.ts_local
    left join tags
        on points.site_id = tags.site_id
        and points.tag = tags.tag
    left join parameters
        on tags.parameter_id = parameters.parameter_id
),

converted as (
    select
        mapped.*,
        {{ to_canonical('mapped.source_value', 'mapped.source_unit', 'mapped.canonical_unit', 'units') }}
            as value,
        {{ unit_known('mapped.source_unit', 'mapped.canonical_unit', 'units') }} as unit_known
    from mapped
    left join units
        on mapped.source_unit = units.from_unit
        and mapped.canonical_unit = units.to_unit
)

select
    _record_id,
    _row_number,
    _position,
    _file_sha256,
    _ingested_at,
    site_id,
    tag,
    equipment_id,
    parameter_id,
    ts_utc,
    ts_local,
    source_value,
    source_unit,
    value,
    canonical_unit as unit,
    quality,
    digital_state,
    case
        when parameter_id is null then 'unmapped_tag'
        when not unit_known then 'unknown_unit'
        when ts_utc is null then coalesce(time_issue, 'unparsed_timestamp')
    end as conform_issue,
    (
        value is not null
        and (plausible_min is null or value >= plausible_min)
        and (plausible_max is null or value <= plausible_max)
    ) as is_plausible
from converted
