-- One row per batch, from its latest batch-record version. ended_at_utc is null while a phase
-- is still open.
with records as (
    select * from {{ ref('int_mes__batch_records_latest') }}
),

spans as (
    select
        batch_id,
        min(started_at_utc) as started_at_utc,
        max(ended_at_utc) as last_phase_end_utc,
        max(case when ended_at_utc is null then 1 else 0 end) as has_open_phase
    from {{ ref('int_mes__phases_latest') }}
    group by batch_id
)

select
    records.batch_id,
    records.site_id,
    records.product_id,
    records.process_type,
    records.recipe_id,
    records.recipe_version,
    records.status,
    records.coi_id,
    records.donor_id,
    records.lims_alias,
    spans.started_at_utc,
    case when spans.has_open_phase = 0 then spans.last_phase_end_utc end as ended_at_utc,
    coalesce(spans.has_open_phase = 1, true) as is_in_progress,
    records.record_version,
    records.n_record_versions,
    records.last_changed_at_utc,
    records._record_id
from records
left join spans on records.batch_id = spans.batch_id
