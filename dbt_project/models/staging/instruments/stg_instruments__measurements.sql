with source as (
    select * from {{ source('instruments', 'instrument_measurement') }}
),

renamed as (
    select
        _record_id,
        _file_sha256,
        _ingested_at,
        site_id,
        vendor,
        sample_id,
        measured_at_utc,
        assumed_timezone,
        field,
        value,
        value_raw,
        unit,
        censor,
        target,
        well
    from source
)

select * from renamed
