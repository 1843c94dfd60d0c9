-- The batch record a batch is judged by: its highest record_version (a QA re-export supersedes
-- the first export; both stay in staging).
with records as (
    select * from {{ ref('stg_mes__batch_records') }}
),

ranked as (
    select
        _record_id,
        _ingested_at,
        site_id,
        batch_id,
        record_version,
        product_id,
        process_type,
        recipe_id,
        recipe_version,
        status,
        coi_id,
        donor_id,
        lims_alias,
        last_changed_at_utc,
        row_number() over (
            partition by batch_id
            order by record_version desc, last_changed_at_utc desc, _record_id
        ) as version_rank,
        count(*) over (partition by batch_id) as n_record_versions
    from records
)

select
    _record_id,
    _ingested_at,
    site_id,
    batch_id,
    record_version,
    n_record_versions,
    product_id,
    process_type,
    recipe_id,
    recipe_version,
    status,
    coi_id,
    donor_id,
    lims_alias,
    {{ normalise_batch_ref('batch_id') }} as batch_key,
    last_changed_at_utc
from ranked
where version_rank = 1
