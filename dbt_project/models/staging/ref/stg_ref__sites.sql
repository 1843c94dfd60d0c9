with source as (
    select * from {{ source('ref', 'sites') }}
),

renamed as (
    select
        site_id,
        name,
        timezone,
        sample_id_pattern
    from source
)

select * from renamed
