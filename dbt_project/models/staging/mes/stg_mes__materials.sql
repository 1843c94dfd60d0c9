with source as (
    select * from {{ source('mes', 'mes_material') }}
),

renamed as (
    select
        _record_id,
        _file_sha256,
        _ingested_at,
        site_id,
        batch_id,
        record_version,
        phase,
        material_id,
        lot,
        quantity,
        unit,
        consumed_at_utc
    from source
)

select * from renamed
