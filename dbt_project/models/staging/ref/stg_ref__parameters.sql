with source as (
    select * from {{ source('ref', 'parameters') }}
),

renamed as (
    select
        parameter_id,
        name,
        canonical_unit,
        kind,
        plausible_min,
        plausible_max
    from source
)

select * from renamed
