-- One row per chain of identity: its batch, how complete it is, its problems, and the
-- vein-to-vein time (collection to infusion) once the patient has been infused.
with events as (
    select * from {{ ref('int_custody__events_ordered') }}
),

chains as (
    select
        coi_id,
        max(batch_id) as batch_id,
        max(site_id) as site_id,
        count(*) as n_events,
        min(event_time_utc) as first_event_at_utc,
        max(event_time_utc) as last_event_at_utc,
        sum(steps_missing_before) as n_missing_steps,
        sum(case when is_unsigned_handoff then 1 else 0 end) as n_unsigned_handoffs,
        sum(case when is_temperature_excursion then 1 else 0 end) as n_temperature_excursions,
        min(case when event_type = 'APHERESIS_COLLECTED' then event_time_utc end)
            as collected_at_utc,
        max(case when event_type = 'INFUSED' then event_time_utc end) as infused_at_utc
    from events
    group by coi_id
),

last_events as (
    select coi_id, event_type as last_event_type
    from events
    where event_order = (
        select max(latest.event_order) from events as latest where latest.coi_id = events.coi_id
    )
)

select
    chains.coi_id,
    chains.batch_id,
    chains.site_id,
    {{ dbt.cast('chains.n_events', api.Column.translate_type('integer')) }} as n_events,
    last_events.last_event_type,
    chains.first_event_at_utc,
    chains.last_event_at_utc,
    {{ dbt.cast('chains.n_missing_steps', api.Column.translate_type('integer')) }}
        as n_missing_steps,
    {{ dbt.cast('chains.n_unsigned_handoffs', api.Column.translate_type('integer')) }}
        as n_unsigned_handoffs,
    {{ dbt.cast('chains.n_temperature_excursions', api.Column.translate_type('integer')) }}
        as n_temperature_excursions,
    chains.collected_at_utc,
    chains.infused_at_utc,
    {{ hours_between('chains.collected_at_utc', 'chains.infused_at_utc') }} as vein_to_vein_h,
    chains.infused_at_utc is not null as is_complete
from chains
left join last_events on chains.coi_id = last_events.coi_id
