-- Instrument readings of mapped fields (and, where the mapping names one, of its target: a PCR
-- target, a flow gate path), linked to a batch through the site's sample-id pattern
-- and converted to canonical units. Below-range readings keep their censor and the reported
-- limit (allotropy's -0.0 is not a measurement). Fields not in instrument_fields are
-- instrument diagnostics and stay in staging. An export re-sent under the same name with other
-- bytes supersedes the earlier one (stg_ingest__file_versions): the earlier file's readings
-- stay, marked `_file_superseded`, and are no longer current in fct_lab_result.
with measurements as (
    select * from {{ ref('stg_instruments__measurements') }}
),

fields as (
    select vendor, field, parameter_id, target from {{ ref('stg_ref__instrument_fields') }}
),

parameters as (
    select parameter_id, canonical_unit from {{ ref('stg_ref__parameters') }}
),

units as (
    select from_unit, to_unit, factor, unit_offset from {{ ref('stg_ref__units') }}
),

sites as (
    select site_id, sample_id_pattern from {{ ref('stg_ref__sites') }}
),

batches as (
    select batch_id, batch_key from {{ ref('int_mes__batch_records_latest') }}
),

versions as (
    select file_sha256, is_superseded from {{ ref('stg_ingest__file_versions') }}
),

mapped as (
    select
        measurements.*,
        fields.parameter_id,
        parameters.canonical_unit,
        nullif(measurements.censor, '') as censor_symbol,
        case
            when nullif(measurements.censor, '') is null then measurements.value
            else {{ dbt.safe_cast(
                "trim(replace(replace(measurements.value_raw, '<', ''), '>', ''))",
                api.Column.translate_type("double")) }}
        end as reported_value,
        {{ normalise_batch_ref(regex_group('measurements.sample_id', 'sites.sample_id_pattern', 1)) }}
            as sample_batch_key,
        {{ regex_group('measurements.sample_id', "'[-_]([A-Za-z0-9]+)$'", 1) }} as sample_suffix
    from measurements
    inner join fields
        on measurements.vendor = fields.vendor
        and measurements.field = fields.field
        -- a mapping that names a target (PCR target, flow gate path) takes only its rows
        and (fields.target is null or fields.target = measurements.target)
    left join parameters on fields.parameter_id = parameters.parameter_id
    left join sites on measurements.site_id = sites.site_id
)

select
    mapped._record_id,
    mapped._file_sha256,
    mapped._ingested_at,
    coalesce(versions.is_superseded, false) as _file_superseded,
    {{ sha256_hex(dbt.concat(["'instrument'", "'|'", "mapped._record_id"])) }} as result_id,
    {{ dbt.concat(["'instrument:'", "mapped.vendor"]) }} as source_system,
    mapped.site_id,
    mapped.sample_id,
    batches.batch_id,
    case when batches.batch_id is not null then 'sample_id_pattern' end as link_method,
    upper(nullif(mapped.sample_suffix, '')) as sample_point,
    mapped.vendor,
    mapped.field,
    mapped.target,
    mapped.well,
    mapped.parameter_id,
    'measured' as status,
    coalesce(mapped.value_raw, {{ dbt.safe_cast('mapped.value', api.Column.translate_type('string')) }})
        as result_text,
    mapped.censor_symbol as censor,
    {{ to_canonical('mapped.reported_value', 'mapped.unit', 'mapped.canonical_unit', 'units') }} as value,
    mapped.canonical_unit as unit,
    mapped.unit as source_unit,
    case
        when not {{ unit_known('mapped.unit', 'mapped.canonical_unit', 'units') }} then 'unknown_unit'
    end as conform_issue,
    mapped.measured_at_utc as sampled_at_utc
from mapped
left join batches
    on mapped.sample_batch_key = batches.batch_key
    and mapped.sample_batch_key <> ''
left join units
    on mapped.unit = units.from_unit
    and mapped.canonical_unit = units.to_unit
left join versions on mapped._file_sha256 = versions.file_sha256
