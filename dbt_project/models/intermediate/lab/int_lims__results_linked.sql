-- LIMS rows linked to a batch, mapped to a parameter, converted, censoring parsed from ENTRY.
-- A batch reference is matched, in this order: exactly; through the batch record's LIMS alias;
-- after normalisation (case and separators); through the site's sample-id pattern. A result
-- that matches none keeps a null batch_id and is reported in dq_issues, never dropped.
with results as (
    select * from {{ ref('stg_lims__results') }}
),

batches as (
    select batch_id, batch_key, lims_alias, product_id
    from {{ ref('int_mes__batch_records_latest') }}
),

sites as (
    select site_id, timezone, sample_id_pattern from {{ ref('stg_ref__sites') }}
),

lab_tests as (
    select site_id, analysis, component, parameter_id from {{ ref('stg_ref__lab_tests') }}
),

parameters as (
    select parameter_id, canonical_unit from {{ ref('stg_ref__parameters') }}
),

units as (
    select from_unit, to_unit, factor, unit_offset from {{ ref('stg_ref__units') }}
),

keyed as (
    select
        results.*,
        sites.timezone,
        {{ normalise_batch_ref('results.batch_ref') }} as batch_ref_key,
        {{ normalise_batch_ref(regex_group('results.sample_id', 'sites.sample_id_pattern', 1)) }}
            as sample_batch_key,
        -- ingestion parsed the times with the site's formats: an instant when the LIMS wrote an
        -- offset, else the site's wall clock (rows loaded before the parsed columns existed
        -- fall back to the text)
        results.sampled_on_utc as sampled_at_offset_utc,
        case when results.sampled_on_utc is null then coalesce(
            results.sampled_on_local,
            {{ dbt.safe_cast('results.sampled_on_raw', api.Column.translate_type('timestamp')) }}
        ) end as sampled_at_local,
        results.changed_on_utc as changed_at_offset_utc,
        case when results.changed_on_utc is null then coalesce(
            results.changed_on_local,
            {{ dbt.safe_cast('results.changed_on_raw', api.Column.translate_type('timestamp')) }}
        ) end as changed_at_local,
        trim(results.entry) as entry_text
    from results
    left join sites on results.site_id = sites.site_id
),

linked as (
    select
        keyed.*,
        coalesce(exact.batch_id, alias.batch_id, normalised.batch_id, by_sample.batch_id)
            as batch_id,
        case
            when exact.batch_id is not null then 'batch_id'
            when alias.batch_id is not null then 'mes_lims_alias'
            when normalised.batch_id is not null then 'normalised_batch_ref'
            when by_sample.batch_id is not null then 'sample_id_pattern'
        end as link_method
    from keyed
    left join batches as exact on keyed.batch_ref = exact.batch_id
    left join batches as alias on keyed.batch_ref = alias.lims_alias
    left join batches as normalised on keyed.batch_ref_key = normalised.batch_key
    left join batches as by_sample
        on keyed.sample_batch_key = by_sample.batch_key
        and keyed.sample_batch_key <> ''
),

mapped as (
    select
        linked.*,
        lab_tests.parameter_id,
        parameters.canonical_unit,
        nullif(trim(linked.units), '') as source_unit,
        case
            when linked.entry_text like '<%' then '<'
            when linked.entry_text like '>%' then '>'
            when linked.numeric_entry is null then 'text'
        end as censor
    from linked
    left join lab_tests
        on linked.site_id = lab_tests.site_id
        and linked.analysis = lab_tests.analysis
        and linked.component = lab_tests.component
    left join parameters on lab_tests.parameter_id = parameters.parameter_id
),

converted as (
    select
        mapped.*,
        {{ dst_issue('mapped.sampled_at_local', 'mapped.timezone') }} as time_issue,
        case
            -- a qualitative result has neither unit: its number (if any) is kept as written
            when mapped.source_unit is null and mapped.canonical_unit is null
                then mapped.numeric_entry
            else {{ to_canonical('mapped.numeric_entry', 'mapped.source_unit', 'mapped.canonical_unit', 'units') }}
        end as value,
        case
            when mapped.parameter_id is null then 'unmapped_lab_test'
            when mapped.numeric_entry is not null
                and coalesce(mapped.source_unit, '') <> coalesce(mapped.canonical_unit, '')
                and units.factor is null
                then 'unknown_unit'
        end as conform_issue
    from mapped
    left join units
        on mapped.source_unit = units.from_unit
        and mapped.canonical_unit = units.to_unit
)

select
    _record_id,
    _file_sha256,
    _ingested_at,
    site_id,
    sample_number,
    sample_id,
    batch_ref,
    batch_id,
    link_method,
    sample_point,
    analysis,
    component,
    replicate,
    parameter_id,
    lower(result_status) as status,
    entry_text as result_text,
    censor,
    value,
    canonical_unit as unit,
    source_unit,
    conform_issue,
    coalesce(
        sampled_at_offset_utc,
        case when time_issue is null then {{ local_to_utc('sampled_at_local', 'timezone') }} end
    ) as sampled_at_utc,
    time_issue,
    coalesce(changed_at_offset_utc, {{ local_to_utc('changed_at_local', 'timezone') }})
        as changed_at_utc,
    nullif(trim(change_reason), '') as change_reason,
    entered_by,
    reviewed_by
from converted
