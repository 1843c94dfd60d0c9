with source as (
    select * from {{ source('mes', 'mes_phase') }}
),

renamed as (
    select
        _record_id,
        _file_sha256,
        _ingested_at,
        site_id,
        batch_id,
        record_version,
        unit_procedure,
        operation,
        phase,
        equipment_id,
        start_utc as started_at_utc,
        end_utc as ended_at_utc
    from source
)

select * from renamed
