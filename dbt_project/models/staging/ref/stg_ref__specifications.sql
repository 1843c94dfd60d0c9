with source as (
    select * from {{ source('ref', 'specifications') }}
),

renamed as (
    select
        product_id,
        parameter_id,
        sample_point,
        spec_min,
        spec_max,
        criticality
    from source
)

select * from renamed
