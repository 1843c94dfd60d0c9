{#
  The historian's readings attributed to batches (int_historian__points_aligned says how).
  `batches`: a query giving batch ids to align only those, or none for every batch. The ids
  restrict the phase windows before the readings are joined to them, so the engine reads only
  the readings of those windows' equipment and times (fct_process_timeseries rebuilds only the
  batches new files touched; a filter on the aligned rows would align every reading first).
#}
{% macro align_historian_points(batches=none) %}
with points as (
    select
        equipment_id,
        parameter_id,
        ts_utc,
        value,
        unit,
        source_value,
        source_unit,
        quality,
        digital_state,
        is_plausible,
        tag,
        _file_sha256,
        _row_number,
        _position,
        _ingested_at
    from {{ ref('int_historian__points_conformed') }}
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
    from {{ ref('int_mes__phases_latest') }}
    {% if batches is not none %}
        where batch_id in ({{ batches }})
    {% endif %}
),

overlapping_files as (
    select distinct spans._file_sha256, coalesce(versions.is_superseded, false) as is_superseded
    from {{ ref('int_historian__file_spans') }} as spans
    left join {{ ref('stg_ingest__file_versions') }} as versions
        on spans._file_sha256 = versions.file_sha256
    where spans.overlaps_another_file
),

attributed as (
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
        points._file_sha256,
        points._row_number,
        points._position,
        points._ingested_at,
        windows.record_loaded_at
    from points
    inner join windows
        on points.equipment_id = windows.equipment_id
        and points.ts_utc >= windows.started_at_utc
        and points.ts_utc < windows.window_end_utc
),

single_readings as (
    select attributed.*
    from attributed
    where attributed._file_sha256 not in (select _file_sha256 from overlapping_files)
),

ranked_repeats as (
    select
        attributed.*,
        row_number() over (
            partition by attributed.batch_id, attributed.parameter_id, attributed.ts_utc
            order by
                overlapping_files.is_superseded, attributed._ingested_at,
                attributed._file_sha256, attributed._row_number
        ) as reading_rank
    from attributed
    inner join overlapping_files on attributed._file_sha256 = overlapping_files._file_sha256
),

kept as (
    select * from single_readings
    union all
    select
        batch_id, product_id, parameter_id, ts_utc, elapsed_h, phase, equipment_id, value,
        unit, source_value, source_unit, quality, digital_state, is_plausible, source_tag,
        _file_sha256, _row_number, _position, _ingested_at, record_loaded_at
    from ranked_repeats
    where reading_rank = 1
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
    {{ raw_record_id('_file_sha256', '_position', '_row_number') }} as _record_id,
    _file_sha256,
    _ingested_at,
    record_loaded_at
from kept
{% endmacro %}
