{{
    config(
        materialized='incremental',
        incremental_strategy=batch_replace_strategy(),
        unique_key='batch_id',
        partition_by=batch_partitions(),
        on_schema_change='fail'
    )
}}
-- The aligned grid models train on: usable readings (Good, numeric, plausible) averaged per
-- batch, parameter and grid step of the product's process (ref.processes.grid_step_h).
-- elapsed_h is the start of the step. Rebuilt per batch when its time series was rebuilt.
with readings as (
    select * from {{ ref('fct_process_timeseries') }}
    where is_usable
    {% if is_incremental() %}
        and _batch_loaded_at > {{ incremental_watermark('_batch_loaded_at') }}
    {% endif %}
),

batches as (
    select batch_id, product_id from {{ ref('int_mes__batch_records_latest') }}
),

processes as (
    select product_id, grid_step_h from {{ ref('stg_ref__processes') }}
),

gridded as (
    select
        readings.batch_id,
        batches.product_id,
        readings.parameter_id,
        floor(readings.elapsed_h / processes.grid_step_h) * processes.grid_step_h as elapsed_h,
        readings.value,
        readings.unit,
        readings._batch_loaded_at
    from readings
    inner join batches on readings.batch_id = batches.batch_id
    inner join processes on batches.product_id = processes.product_id
)

select
    batch_id,
    product_id,
    parameter_id,
    {{ dbt.cast('elapsed_h', api.Column.translate_type('double')) }} as elapsed_h,
    -- exact: an incremental build must give the same bits as a full refresh
    {{ exact_mean('value') }} as value,
    min(value) as value_min,
    max(value) as value_max,
    unit,
    count(*) as n_points,
    max(_batch_loaded_at) as _batch_loaded_at
from gridded
group by batch_id, product_id, parameter_id, elapsed_h, unit
