with source as (
    select * from {{ source('custody', 'custody_event') }}
),

renamed as (
    select
        _record_id,
        _file_sha256,
        _ingested_at,
        _row_number,
        site_id,
        coi_id,
        event_type,
        event_time_utc,
        event_time_local,
        location,
        custodian,
        signed_by,
        container_id,
        temperature_c,
        notes
    from source
)

select * from renamed
