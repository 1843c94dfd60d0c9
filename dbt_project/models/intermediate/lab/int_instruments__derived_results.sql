-- Results computed from two mapped results of one sample in one instrument file
-- (ref.derived_parameters): value = factor x mean(numerator) / mean(denominator), each mean over
-- the sample's wells or replicates in that file. Vector copy number from a dPCR plate's vector
-- and reference-gene wells; % CAR+ from two gate counts of one tube. Only the file's current
-- readings count; a censored or missing component, or a zero denominator, gives no value.
-- `_record_id` is the numerator's first reading (what `biotwin trace` follows); the others are
-- the same file and sample.
with components as (
    select * from {{ ref('int_instruments__results_linked') }}
),

derived as (
    select * from {{ ref('stg_ref__derived_parameters') }}
),

parameters as (
    select parameter_id, canonical_unit from {{ ref('stg_ref__parameters') }}
),

per_sample as (
    select
        _file_sha256,
        sample_id,
        parameter_id,
        avg(value) as mean_value,
        count(*) as n_readings,
        count(value) as n_values,
        min(_record_id) as first_record_id,
        max(sampled_at_utc) as sampled_at_utc,
        bool_or(_file_superseded) as _file_superseded,
        min(_ingested_at) as _ingested_at,
        min(site_id) as site_id,
        min(batch_id) as batch_id,
        min(link_method) as link_method,
        min(sample_point) as sample_point,
        min(vendor) as vendor
    from components
    group by _file_sha256, sample_id, parameter_id
),

computed as (
    select
        numerator.*,
        derived.parameter_id as derived_parameter_id,
        case
            when numerator.n_values = numerator.n_readings
                and denominator.n_values = denominator.n_readings
                and denominator.mean_value <> 0
                then derived.factor * numerator.mean_value / denominator.mean_value
        end as derived_value
    from derived
    inner join per_sample as numerator
        on numerator.parameter_id = derived.numerator_parameter_id
    inner join per_sample as denominator
        on denominator.parameter_id = derived.denominator_parameter_id
        and denominator._file_sha256 = numerator._file_sha256
        and denominator.sample_id = numerator.sample_id
)

select
    computed.first_record_id as _record_id,
    computed._file_sha256,
    computed._ingested_at,
    computed._file_superseded,
    {{ sha256_hex(dbt.concat([
        "'derived'", "'|'", "computed._file_sha256", "'|'", "computed.sample_id", "'|'",
        "computed.derived_parameter_id"])) }} as result_id,
    {{ dbt.concat(["'instrument:'", "computed.vendor"]) }} as source_system,
    computed.site_id,
    computed.sample_id,
    computed.batch_id,
    computed.link_method,
    computed.sample_point,
    computed.vendor,
    computed.derived_parameter_id as parameter_id,
    'calculated' as status,
    {{ number_text('computed.derived_value', 6) }} as result_text,
    {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as censor,
    computed.derived_value as value,
    parameters.canonical_unit as unit,
    computed.sampled_at_utc
from computed
left join parameters on computed.derived_parameter_id = parameters.parameter_id
