with source as (
    select * from {{ source('ref', 'lab_tests') }}
),

renamed as (
    select
        site_id,
        analysis,
        component,
        parameter_id
    from source
)

select * from renamed
