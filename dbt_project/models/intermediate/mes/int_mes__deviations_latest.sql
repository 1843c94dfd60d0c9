-- Deviations of each batch's latest record version (int_mes__batch_records_latest): the
-- version a batch is judged by. Earlier versions stay in stg_mes__deviations.
with section as (
    select * from {{ ref('stg_mes__deviations') }}
),

latest as (
    select batch_id, record_version from {{ ref('int_mes__batch_records_latest') }}
),

current_rows as (
    select
        section._record_id,
        section._file_sha256,
        section._ingested_at,
        section.site_id,
        section.batch_id,
        section.record_version,
        section.deviation_id,
        section.classification,
        section.phase,
        section.opened_at_utc,
        section.description
    from section
    inner join latest
        on section.batch_id = latest.batch_id
        and section.record_version = latest.record_version
)

select * from current_rows
