-- One row per version of a LIMS result. A result (site, sample number, analysis, component,
-- replicate) is re-sent in every weekly extract; an export identical to an earlier one is the
-- same version, any change (value, status, reason) is a new one. Old versions are kept; the
-- latest is current. Of identical copies, the one kept for lineage is from a file's latest
-- version (stg_ingest__file_versions), then the first loaded.
with linked as (
    select
        results.*,
        coalesce(versions.is_superseded, false) as _file_superseded
    from {{ ref('int_lims__results_linked') }} as results
    left join {{ ref('stg_ingest__file_versions') }} as versions
        on results._file_sha256 = versions.file_sha256
),

exports as (
    select
        linked.*,
        row_number() over (
            partition by
                site_id, sample_number, analysis, component, replicate,
                status, result_text, source_unit, change_reason, changed_at_utc
            order by _file_superseded, _ingested_at, _record_id
        ) as export_rank,
        count(*) over (
            partition by
                site_id, sample_number, analysis, component, replicate,
                status, result_text, source_unit, change_reason, changed_at_utc
        ) as n_exports
    from linked
),

versions as (
    select
        exports.*,
        row_number() over (
            partition by site_id, sample_number, analysis, component, replicate
            order by changed_at_utc nulls last, _ingested_at, _record_id
        ) as version,
        count(*) over (
            partition by site_id, sample_number, analysis, component, replicate
        ) as n_versions
    from exports
    where export_rank = 1
)

select
    _record_id,
    _file_sha256,
    _ingested_at,
    {{ sha256_hex(dbt.concat([
        "'lims'", "'|'", "site_id", "'|'", "sample_number", "'|'", "analysis", "'|'",
        "component", "'|'", dbt.safe_cast("replicate", api.Column.translate_type("string"))
    ])) }} as result_id,
    'lims' as source_system,
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
    status,
    result_text,
    censor,
    value,
    unit,
    source_unit,
    conform_issue,
    sampled_at_utc,
    time_issue,
    changed_at_utc,
    change_reason,
    version,
    version = n_versions as is_current,
    lag(result_text) over (
        partition by site_id, sample_number, analysis, component, replicate order by version
    ) as previous_result_text,
    n_exports
from versions
