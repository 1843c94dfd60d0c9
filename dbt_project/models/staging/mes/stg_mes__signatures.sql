with source as (
    select * from {{ source('mes', 'mes_signature') }}
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
        signer,
        meaning,
        signed_at_utc
    from source
)

select * from renamed
