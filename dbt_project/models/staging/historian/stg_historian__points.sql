with source as (
    select * from {{ source('historian', 'historian_point') }}
),

renamed as (
    select
        _record_id,
        _file_sha256,
        _ingested_at,
        _row_number,
        _position,
        site_id,
        source_format,
        tag,
        ts_raw,
        ts_utc,
        ts_local,
        value,
        value_raw,
        digital_state,
        quality,
        units
    from source
)

select * from renamed
