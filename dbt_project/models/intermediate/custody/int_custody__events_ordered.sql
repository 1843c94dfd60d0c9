-- Custody events of each chain of identity in time order, checked against the expected steps
-- (seed custody_event_types): a skipped step is a gap, a hand-off without a signature is
-- flagged, a temperature outside the step's range is an excursion. An event repeated in a
-- re-sent extract is one event: the copy kept is from a file's latest version, then the
-- first loaded (stg_ingest__file_versions), and the copies are counted.
with staged as (
    select * from {{ ref('stg_custody__events') }}
),

sites as (
    select site_id, timezone from {{ ref('stg_ref__sites') }}
),

-- a time written without an offset is the site's wall clock: resolved with its zone, and the
-- hour the clocks go back is flagged (time_issue), never guessed
resolved as (
    select
        staged._record_id,
        staged._file_sha256,
        staged._ingested_at,
        staged._row_number,
        staged.site_id,
        staged.coi_id,
        staged.event_type,
        coalesce(
            staged.event_time_utc,
            case when {{ dst_issue('staged.event_time_local', 'sites.timezone') }} is null
                then {{ local_to_utc('staged.event_time_local', 'sites.timezone') }} end
        ) as event_time_utc,
        case when staged.event_time_utc is null and staged.event_time_local is not null
            then {{ dst_issue('staged.event_time_local', 'sites.timezone') }} end as time_issue,
        staged.location,
        staged.custodian,
        staged.signed_by,
        staged.container_id,
        staged.temperature_c,
        staged.notes
    from staged
    left join sites on staged.site_id = sites.site_id
),

all_copies as (
    select
        resolved.*,
        row_number() over (
            partition by
                coi_id, event_type, event_time_utc, location, custodian, signed_by,
                container_id, temperature_c
            order by
                coalesce(versions.is_superseded, false), resolved._ingested_at,
                resolved._record_id
        ) as copy_rank,
        count(*) over (
            partition by
                coi_id, event_type, event_time_utc, location, custodian, signed_by,
                container_id, temperature_c
        ) as n_copies
    from resolved
    left join {{ ref('stg_ingest__file_versions') }} as versions
        on resolved._file_sha256 = versions.file_sha256
),

events as (
    select * from all_copies where copy_rank = 1
),

event_types as (
    select
        event_type,
        step_order,
        temperature_min_c,
        temperature_max_c,
        is_handoff
    from {{ ref('custody_event_types') }}
),

batches as (
    select coi_id, batch_id from {{ ref('int_mes__batch_records_latest') }} where coi_id is not null
),

ordered as (
    select
        events._record_id,
        events._file_sha256,
        events.site_id,
        events.coi_id,
        batches.batch_id,
        events.event_type,
        event_types.step_order,
        events.event_time_utc,
        events.location,
        events.custodian,
        nullif(trim(events.signed_by), '') as signed_by,
        events.container_id,
        events.temperature_c,
        event_types.temperature_min_c,
        event_types.temperature_max_c,
        coalesce(event_types.is_handoff, false) as is_handoff,
        nullif(trim(events.notes), '') as notes,
        events.n_copies,
        events.time_issue,
        row_number() over (
            partition by events.coi_id
            order by events.event_time_utc nulls last, event_types.step_order, events._record_id
        ) as event_order,
        lag(event_types.step_order) over (
            partition by events.coi_id
            order by events.event_time_utc nulls last, event_types.step_order, events._record_id
        ) as previous_step_order,
        lag(events.event_time_utc) over (
            partition by events.coi_id
            order by events.event_time_utc nulls last, event_types.step_order, events._record_id
        ) as previous_event_time_utc
    from events
    left join event_types on events.event_type = event_types.event_type
    left join batches on events.coi_id = batches.coi_id
)

select
    _record_id,
    _file_sha256,
    site_id,
    coi_id,
    batch_id,
    event_order,
    event_type,
    step_order,
    event_time_utc,
    location,
    custodian,
    signed_by,
    container_id,
    temperature_c,
    case
        when step_order is null or previous_step_order is null then 0
        when step_order - previous_step_order > 1 then step_order - previous_step_order - 1
        else 0
    end as steps_missing_before,
    (step_order is null) as is_unknown_event_type,
    (is_handoff and signed_by is null) as is_unsigned_handoff,
    (
        temperature_c is not null
        and (temperature_c < temperature_min_c or temperature_c > temperature_max_c)
    ) as is_temperature_excursion,
    {{ hours_between('previous_event_time_utc', 'event_time_utc') }} as hours_since_previous,
    notes,
    n_copies,
    time_issue
from ordered
