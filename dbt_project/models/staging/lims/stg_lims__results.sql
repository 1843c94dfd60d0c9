with source as (
    select * from {{ source('lims', 'lims_result') }}
),

renamed as (
    select
        _record_id,
        _file_sha256,
        _ingested_at,
        _row_number,
        site_id,
        sample_number,
        text_id as sample_id,
        batch_ref,
        sample_point,
        sampled_on_raw,
        sampled_on_utc,
        sampled_on_local,
        analysis,
        component,
        {{ dbt.safe_cast('replicate', api.Column.translate_type('integer')) }} as replicate,
        result_status,
        entry,
        numeric_entry,
        units,
        spec_min_raw,
        spec_max_raw,
        entered_by,
        reviewed_by,
        changed_on_raw,
        changed_on_utc,
        changed_on_local,
        change_reason
    from source
)

select * from renamed
