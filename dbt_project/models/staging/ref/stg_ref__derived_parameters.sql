with source as (
    select * from {{ source('ref', 'derived_parameters') }}
),

renamed as (
    select
        parameter_id,
        numerator_parameter_id,
        denominator_parameter_id,
        {{ dbt.safe_cast('factor', api.Column.translate_type('double')) }} as factor
    from source
)

select * from renamed
