select
    _record_id,
    coi_id,
    batch_id,
    site_id,
    {{ dbt.cast('event_order', api.Column.translate_type('integer')) }} as event_order,
    event_type,
    event_time_utc,
    location,
    custodian,
    signed_by,
    container_id,
    temperature_c,
    {{ dbt.cast('steps_missing_before', api.Column.translate_type('integer')) }}
        as steps_missing_before,
    steps_missing_before > 0 as has_gap_before,
    is_unsigned_handoff,
    is_temperature_excursion,
    is_unknown_event_type,
    hours_since_previous,
    notes
from {{ ref('int_custody__events_ordered') }}
