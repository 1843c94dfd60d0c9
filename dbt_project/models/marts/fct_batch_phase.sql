select
    batch_id,
    {{ dbt.cast('phase_order', api.Column.translate_type('integer')) }} as phase_order,
    unit_procedure,
    operation,
    phase,
    equipment_id,
    started_at_utc,
    ended_at_utc,
    {{ hours_between('started_at_utc', 'ended_at_utc') }} as duration_h,
    record_version,
    _record_id
from {{ ref('int_mes__phases_latest') }}
