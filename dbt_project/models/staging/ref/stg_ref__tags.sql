with source as (
    select * from {{ source('ref', 'tags') }}
),

renamed as (
    select
        site_id,
        tag,
        equipment_id,
        parameter_id,
        source_unit
    from source
)

select * from renamed
