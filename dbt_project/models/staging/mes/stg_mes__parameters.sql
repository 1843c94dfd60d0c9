with source as (
    select * from {{ source('mes', 'mes_parameter') }}
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
        name as parameter_name,
        setpoint,
        actual,
        unit,
        recorded_at_utc,
        recorded_by
    from source
)

select * from renamed
