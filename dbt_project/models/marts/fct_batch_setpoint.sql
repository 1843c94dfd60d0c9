-- One row per batch, recipe parameter and phase of the latest batch-record version: the
-- set-point and the actual value, in the parameter's canonical unit (ref.parameters, ref.units).
-- The batch record writes some of them in other units (seeding density in cells/mL at one site, 1e6
-- cells/mL at the other); a unit with no conversion row leaves the value null and says so.
with parameters as (
    select parameter_id, canonical_unit from {{ ref('stg_ref__parameters') }}
),

units as (
    select from_unit, to_unit, factor, unit_offset from {{ ref('stg_ref__units') }}
),

recorded as (
    select
        batch_parameters.batch_id,
        batch_parameters.parameter_name as parameter_id,
        batch_parameters.phase,
        batch_parameters.setpoint as source_setpoint,
        batch_parameters.actual as source_actual,
        nullif(trim(batch_parameters.unit), '') as source_unit,
        parameters.canonical_unit,
        batch_parameters.recorded_at_utc,
        batch_parameters.record_version,
        batch_parameters._record_id
    from {{ ref('int_mes__parameters_latest') }} as batch_parameters
    left join parameters on batch_parameters.parameter_name = parameters.parameter_id
)

select
    recorded.batch_id,
    recorded.parameter_id,
    recorded.phase,
    {{ to_canonical('recorded.source_setpoint', 'recorded.source_unit', 'recorded.canonical_unit', 'units') }}
        as setpoint,
    {{ to_canonical('recorded.source_actual', 'recorded.source_unit', 'recorded.canonical_unit', 'units') }}
        as actual,
    recorded.canonical_unit as unit,
    recorded.source_setpoint,
    recorded.source_actual,
    recorded.source_unit,
    {{ unit_known('recorded.source_unit', 'recorded.canonical_unit', 'units') }} as unit_known,
    recorded.recorded_at_utc,
    recorded.record_version,
    recorded._record_id
from recorded
left join units
    on recorded.source_unit = units.from_unit
    and recorded.canonical_unit = units.to_unit
