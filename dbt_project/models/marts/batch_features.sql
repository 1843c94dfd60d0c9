-- One row per batch, ready for ML: how long the recipe planned to run, how the culture ran
-- (from the aligned trajectory), what the lab found, and the process's outcome. Nothing here
-- names a recipe parameter: ref.processes names the process's outcome and the batch-record
-- parameter that sets its culture length (duration_parameter_id); every other recipe value is
-- in fct_batch_setpoint, one row per parameter, as the batch record wrote it.
with batches as (
    select * from {{ ref('dim_batch') }}
),

processes as (
    select product_id, expected_duration_h, outcome_parameter_id, duration_parameter_id
    from {{ ref('stg_ref__processes') }}
),

-- means are exact (macro exact_mean): the same marts give the same features, bit for bit
trajectory as (
    select
        batch_id,
        max(elapsed_h) as observed_h,
        {{ exact_mean("case when parameter_id = 'temperature' then value end") }} as temperature_mean,
        max(case when parameter_id = 'temperature' then value_max end) as temperature_max,
        {{ exact_mean("case when parameter_id = 'ph' then value end") }} as ph_mean,
        min(case when parameter_id = 'ph' then value_min end) as ph_min,
        {{ exact_mean("case when parameter_id = 'dissolved_oxygen' then value end") }} as dissolved_oxygen_mean,
        min(case when parameter_id = 'dissolved_oxygen' then value_min end)
            as dissolved_oxygen_min,
        {{ exact_mean("case when parameter_id = 'agitation' then value end") }} as agitation_mean,
        sum(n_points) as n_readings
    from {{ ref('fct_batch_trajectory') }}
    group by batch_id
),

units as (
    select from_unit, to_unit, factor, unit_offset from {{ ref('stg_ref__units') }}
),

-- the planned culture length in hours: the set-point of the process's duration parameter, in
-- its canonical unit, converted to hours (a unit with no conversion to h leaves it null)
planned as (
    select
        setpoints.batch_id,
        max({{ to_canonical('setpoints.setpoint', 'setpoints.unit', "'h'", 'units') }}) as planned_duration_h
    from {{ ref('fct_batch_setpoint') }} as setpoints
    inner join batches on setpoints.batch_id = batches.batch_id
    inner join processes
        on batches.product_id = processes.product_id
        and setpoints.parameter_id = processes.duration_parameter_id
    left join units on setpoints.unit = units.from_unit and units.to_unit = 'h'
    group by setpoints.batch_id
),

current_results as (
    select *
    from {{ ref('fct_lab_result') }}
    where is_current and status <> 'cancelled' and batch_id is not null
),

outcomes as (
    select
        current_results.batch_id,
        max(current_results.value) as outcome_value,
        max(current_results.censor) as outcome_censor
    from current_results
    inner join batches on current_results.batch_id = batches.batch_id
    inner join processes
        on batches.product_id = processes.product_id
        and current_results.parameter_id = processes.outcome_parameter_id
    where current_results.source_system = 'lims'
    group by current_results.batch_id
),

lab as (
    select
        batch_id,
        -- the reported (LIMS) viability, not a release assay's flow-cytometry reading of it
        max(
            case
                when parameter_id = 'viability' and sample_point = 'FINAL'
                    and source_system = 'lims' then value
            end
        ) as final_viability,
        -- one per parameter and sample point, whichever systems reported it
        count(
            distinct case
                when out_of_spec then {{ dbt.concat(["parameter_id", "'|'", "coalesce(sample_point, '')"]) }}
            end
        ) as n_out_of_spec
    from current_results
    group by batch_id
),

deviations as (
    select
        batch_id,
        count(*) as n_deviations,
        sum(case when classification in ('major', 'critical') then 1 else 0 end)
            as n_major_deviations
    from {{ ref('fct_deviation') }}
    group by batch_id
)

select
    batches.batch_id,
    batches.site_id,
    batches.product_id,
    batches.process_type,
    batches.status,
    batches.is_in_progress,
    batches.started_at_utc,
    processes.expected_duration_h,
    trajectory.observed_h,
    planned.planned_duration_h,
    trajectory.temperature_mean,
    trajectory.temperature_max,
    trajectory.ph_mean,
    trajectory.ph_min,
    trajectory.dissolved_oxygen_mean,
    trajectory.dissolved_oxygen_min,
    trajectory.agitation_mean,
    {{ dbt.cast('coalesce(trajectory.n_readings, 0)', api.Column.translate_type('bigint')) }}
        as n_readings,
    lab.final_viability,
    {{ dbt.cast('coalesce(lab.n_out_of_spec, 0)', api.Column.translate_type('integer')) }}
        as n_out_of_spec,
    {{ dbt.cast('coalesce(deviations.n_deviations, 0)', api.Column.translate_type('integer')) }}
        as n_deviations,
    {{ dbt.cast('coalesce(deviations.n_major_deviations, 0)', api.Column.translate_type('integer')) }}
        as n_major_deviations,
    processes.outcome_parameter_id,
    outcomes.outcome_value,
    outcomes.outcome_censor
from batches
left join processes on batches.product_id = processes.product_id
left join trajectory on batches.batch_id = trajectory.batch_id
left join planned on batches.batch_id = planned.batch_id
left join lab on batches.batch_id = lab.batch_id
left join outcomes on batches.batch_id = outcomes.batch_id
left join deviations on batches.batch_id = deviations.batch_id
