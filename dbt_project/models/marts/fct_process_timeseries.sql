-- depends_on: {{ ref('int_mes__phases_latest') }}
-- depends_on: {{ ref('int_historian__points_aligned') }}
-- depends_on: {{ ref('int_historian__file_spans') }}
{{
    config(
        materialized='incremental',
        incremental_strategy=batch_replace_strategy(),
        unique_key='batch_id',
        partition_by=batch_partitions(),
        on_schema_change='fail'
    )
}}
-- Incremental by batch: a run rebuilds whole batches, those touched by files loaded since the
-- last build (a historian file whose span on the batch's equipment meets one of its phase
-- windows, or a new batch-record version). _batch_loaded_at, the latest load time of those
-- sources, is the watermark. A reference-data change needs --full-refresh.

with phases as (
    select batch_id, equipment_id, started_at_utc, window_end_utc, record_loaded_at
    from {{ ref('int_mes__phases_latest') }}
),

spans as (
    select equipment_id, first_ts_utc, last_ts_utc, loaded_at
    from {{ ref('int_historian__file_spans') }}
),

batch_sources as (
    select batch_id, record_loaded_at as loaded_at from phases
    union all
    select phases.batch_id, spans.loaded_at
    from phases
    inner join spans
        on phases.equipment_id = spans.equipment_id
        and spans.first_ts_utc < phases.window_end_utc
        and spans.last_ts_utc >= phases.started_at_utc
),

batch_loaded as (
    select batch_id, max(loaded_at) as _batch_loaded_at
    from batch_sources
    group by batch_id
),

{% if is_incremental() %}
touched_batches as (
    select batch_id
    from batch_loaded
    where _batch_loaded_at > {{ incremental_watermark('_batch_loaded_at') }}
),
{% endif %}

-- int_historian__points_aligned, for the touched batches only (every batch on a full build)
selected as (
    {% if is_incremental() %}
        {{ align_historian_points("select batch_id from touched_batches") }}
    {% else %}
        {{ align_historian_points() }}
    {% endif %}
)

select
    selected.batch_id,
    selected.parameter_id,
    selected.ts_utc,
    {{ dbt.cast('selected.elapsed_h', api.Column.translate_type('double')) }} as elapsed_h,
    selected.phase,
    selected.equipment_id,
    selected.value,
    selected.unit,
    selected.source_value,
    selected.source_unit,
    selected.quality,
    selected.digital_state,
    selected.is_usable,
    selected.source_tag,
    selected._record_id,
    selected._file_sha256,
    batch_loaded._batch_loaded_at
from selected
inner join batch_loaded on selected.batch_id = batch_loaded.batch_id
