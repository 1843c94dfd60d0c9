with source as (
    select * from {{ source('mes', 'mes_deviation') }}
),

renamed as (
    select
        _record_id,
        _file_sha256,
        _ingested_at,
        site_id,
        batch_id,
        record_version,
        deviation_id,
        classification,
        phase,
        opened_at_utc,
        description
    from source
)

select * from renamed
