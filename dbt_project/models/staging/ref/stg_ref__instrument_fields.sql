with source as (
    select * from {{ source('ref', 'instrument_fields') }}
),

renamed as (
    select
        vendor,
        field,
        parameter_id
    from source
)

select * from renamed
