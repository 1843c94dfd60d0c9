-- `offset` is a reserved word in SQL: renamed once here, so no model has to quote it.
with source as (
    select * from {{ source('ref', 'units') }}
),

renamed as (
    select
        from_unit,
        to_unit,
        factor,
        {{ adapter.quote('offset') }} as unit_offset
    from source
)

select * from renamed
