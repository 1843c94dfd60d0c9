-- Every version of every lab result: LIMS results (versioned), instrument readings (one
-- version each) and results computed from two readings of one sample (vector copy number,
-- % CAR+: int_instruments__derived_results), with the batch they belong to (null if unlinked), the specification of the
-- batch's product at that sample point, and whether the result is outside it. A censored
-- result is out of specification only when its limit decides it; otherwise out_of_spec is null.
with lims as (
    select
        result_id,
        source_system,
        site_id,
        batch_id,
        link_method,
        sample_id,
        sample_point,
        parameter_id,
        value,
        unit,
        censor,
        result_text,
        status,
        version,
        is_current,
        sampled_at_utc,
        change_reason,
        _record_id
    from {{ ref('int_lims__result_versions') }}
),

instruments as (
    -- readings, and results computed from two readings of one sample
    {% for model in ['int_instruments__results_linked', 'int_instruments__derived_results'] %}
    select
        result_id,
        source_system,
        site_id,
        batch_id,
        link_method,
        sample_id,
        sample_point,
        parameter_id,
        value,
        unit,
        censor,
        result_text,
        status,
        1 as version,
        not _file_superseded as is_current,
        sampled_at_utc,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as change_reason,
        _record_id
    from {{ ref(model) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

results as (
    select * from lims
    union all
    select * from instruments
),

batches as (
    select batch_id, product_id from {{ ref('int_mes__batch_records_latest') }}
),

batch_starts as (
    select distinct batch_id, batch_started_at_utc from {{ ref('int_mes__phases_latest') }}
),

specifications as (
    select product_id, parameter_id, sample_point, spec_min, spec_max, criticality
    from {{ ref('stg_ref__specifications') }}
    where sample_point is not null
),

evaluated as (
    select
        results.*,
        batches.product_id,
        specifications.spec_min,
        specifications.spec_max,
        specifications.criticality,
        {{ hours_between('batch_starts.batch_started_at_utc', 'results.sampled_at_utc') }}
            as elapsed_h
    from results
    left join batches on results.batch_id = batches.batch_id
    left join batch_starts on results.batch_id = batch_starts.batch_id
    left join specifications
        on batches.product_id = specifications.product_id
        and results.parameter_id = specifications.parameter_id
        and results.sample_point = specifications.sample_point
)

select
    result_id,
    _record_id,
    batch_id,
    product_id,
    site_id,
    sample_id,
    sample_point,
    parameter_id,
    source_system,
    link_method,
    value,
    unit,
    censor,
    result_text,
    spec_min,
    spec_max,
    criticality,
    case
        when spec_min is null and spec_max is null then null
        when censor is null and value is not null
            then coalesce(value < spec_min, false) or coalesce(value > spec_max, false)
        when censor = '<' then
            case
                when spec_min is not null and value <= spec_min then true
                when spec_min is null and value <= spec_max then false
            end
        when censor = '>' then
            case
                when spec_max is not null and value >= spec_max then true
                when spec_max is null and value >= spec_min then false
            end
    end as out_of_spec,
    status,
    {{ dbt.cast('version', api.Column.translate_type('integer')) }} as version,
    is_current,
    change_reason,
    sampled_at_utc,
    {{ dbt.cast('elapsed_h', api.Column.translate_type('double')) }} as elapsed_h
from evaluated
