-- Phases of the latest record version, with the batch's start and each phase's window on its
-- equipment. A phase still running at extract time has no end: its window stays open.
with phases as (
    select * from {{ ref('stg_mes__phases') }}
),

latest_record as (
    select batch_id, record_version, product_id, _ingested_at
    from {{ ref('int_mes__batch_records_latest') }}
),

current_phases as (
    select
        phases._record_id,
        phases.site_id,
        phases.batch_id,
        latest_record.product_id,
        phases.record_version,
        phases.unit_procedure,
        phases.operation,
        phases.phase,
        phases.equipment_id,
        phases.started_at_utc,
        phases.ended_at_utc,
        latest_record._ingested_at as record_loaded_at
    from phases
    inner join latest_record
        on phases.batch_id = latest_record.batch_id
        and phases.record_version = latest_record.record_version
)

select
    _record_id,
    site_id,
    batch_id,
    product_id,
    record_version,
    -- _record_id breaks ties: two phases starting together get the same order in every build
    row_number() over (
        partition by batch_id order by started_at_utc, phase, _record_id
    ) as phase_order,
    unit_procedure,
    operation,
    phase,
    equipment_id,
    started_at_utc,
    ended_at_utc,
    coalesce(ended_at_utc, {{ dbt.dateadd('year', 100, 'started_at_utc') }}) as window_end_utc,
    min(started_at_utc) over (partition by batch_id) as batch_started_at_utc,
    record_loaded_at
from current_phases
