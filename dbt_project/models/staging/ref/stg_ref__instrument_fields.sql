with source as (
    select * from {{ source('ref', 'instrument_fields') }}
),

renamed as (
    select
        vendor,
        field,
        parameter_id,
        nullif(trim(target), '') as target
    from source
)

select * from renamed
