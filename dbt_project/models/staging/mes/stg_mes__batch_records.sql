with source as (
    select * from {{ source('mes', 'mes_batch_record') }}
),

renamed as (
    select
        _record_id,
        _file_sha256,
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
        last_changed_at_utc
    from source
)

select * from renamed
