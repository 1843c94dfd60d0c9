with source as (
    select * from {{ source('ref', 'processes') }}
),

renamed as (
    select
        product_id,
        process_type,
        expected_duration_h,
        outcome_parameter_id,
        grid_step_h,
        mechanistic_model,
        duration_parameter_id
    from source
)

select * from renamed
