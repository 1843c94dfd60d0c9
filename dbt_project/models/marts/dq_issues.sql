-- One row per data-quality issue found while conforming: what, how bad, where it came from
-- (system, site, batch, file, first record) and how many records it covers. Readings are
-- grouped per file and tag so that a day of an unmapped tag is one issue, not 1,440.
-- Nothing here removes data: the records stay in raw/staging and, where they can be
-- conformed, in the marts with their flags.
with conformed_points as (
    select * from {{ ref('int_historian__points_conformed') }}
),

files as (
    select file_sha256, min(source_path) as source_path
    from {{ ref('stg_ingest__file_ledger') }}
    group by file_sha256
),

historian_unconformed as (
    select
        conform_issue as issue_type,
        case when conform_issue like 'dst_%' then 'warning' else 'error' end as severity,
        'historian' as source_system,
        site_id,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as batch_id,
        _file_sha256 as file_sha256,
        min(_record_id) as record_id,
        count(*) as n_records,
        min(coalesce(ts_utc, {{ local_to_utc('ts_local', "'UTC'") }})) as first_at_utc,
        max(coalesce(ts_utc, {{ local_to_utc('ts_local', "'UTC'") }})) as last_at_utc,
        {{ dbt.concat(["'tag '", "tag", "' unit '", "coalesce(source_unit, '?')"]) }} as detail
    from conformed_points
    where conform_issue is not null
    group by conform_issue, site_id, _file_sha256, tag, source_unit
),

timeseries as (
    select * from {{ ref('fct_process_timeseries') }}
),

historian_implausible as (
    select
        'implausible_value' as issue_type,
        'warning' as severity,
        'historian' as source_system,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as site_id,
        batch_id,
        _file_sha256 as file_sha256,
        _record_id as record_id,
        1 as n_records,
        ts_utc as first_at_utc,
        ts_utc as last_at_utc,
        {{ dbt.concat([
            "parameter_id", "' = '",
            dbt.safe_cast("value", api.Column.translate_type("string")), "' '", "unit",
            "' outside the plausible range'"
        ]) }} as detail
    from timeseries
    where value is not null and quality = 'Good' and digital_state is null and not is_usable
),

historian_flagged as (
    select
        'flagged_reading' as issue_type,
        'info' as severity,
        'historian' as source_system,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as site_id,
        batch_id,
        _file_sha256 as file_sha256,
        min(_record_id) as record_id,
        count(*) as n_records,
        min(ts_utc) as first_at_utc,
        max(ts_utc) as last_at_utc,
        {{ dbt.concat([
            "source_tag", "' '", "coalesce(digital_state, quality)"
        ]) }} as detail
    from timeseries
    where quality <> 'Good' or digital_state is not null
    group by batch_id, _file_sha256, source_tag, quality, digital_state
),

file_spans as (
    select site_id, equipment_id, parameter_id, _file_sha256, loaded_at, first_ts_utc,
        last_ts_utc, n_records
    from {{ ref('int_historian__file_spans') }}
    where overlaps_another_file
),

historian_overlaps as (
    select
        'overlapping_export' as issue_type,
        'info' as severity,
        'historian' as source_system,
        later.site_id,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as batch_id,
        later._file_sha256 as file_sha256,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as record_id,
        sum(later.n_records) as n_records,
        min(greatest(later.first_ts_utc, earlier.first_ts_utc)) as first_at_utc,
        max(least(later.last_ts_utc, earlier.last_ts_utc)) as last_at_utc,
        {{ dbt.concat(["'repeats readings of file '", "earlier._file_sha256"]) }} as detail
    from file_spans as later
    inner join file_spans as earlier
        on later.site_id = earlier.site_id
        and later.equipment_id = earlier.equipment_id
        and later.parameter_id = earlier.parameter_id
        and (
            later.loaded_at > earlier.loaded_at
            or (later.loaded_at = earlier.loaded_at and later._file_sha256 > earlier._file_sha256)
        )
        and later.first_ts_utc <= earlier.last_ts_utc
        and later.last_ts_utc >= earlier.first_ts_utc
    group by later.site_id, later._file_sha256, earlier._file_sha256
),

lims as (
    select * from {{ ref('int_lims__result_versions') }}
),

lims_issues as (
    select
        coalesce(
            conform_issue,
            time_issue,
            case when status not in {{ lims_statuses() }} then 'unknown_result_status' end,
            case when batch_id is null then 'unlinked_record' end
        ) as issue_type,
        case when batch_id is null then 'warning' else 'error' end as severity,
        'lims' as source_system,
        site_id,
        batch_id,
        _file_sha256 as file_sha256,
        _record_id as record_id,
        1 as n_records,
        sampled_at_utc as first_at_utc,
        sampled_at_utc as last_at_utc,
        {{ dbt.concat([
            "'sample '", "sample_id", "' batch ref '", "coalesce(batch_ref, '')",
            "' '", "analysis", "'/'", "component"
        ]) }} as detail
    from lims
    where conform_issue is not null or time_issue is not null or batch_id is null
        or status not in {{ lims_statuses() }}
),

instrument_issues as (
    select
        coalesce(conform_issue, 'unlinked_record') as issue_type,
        case when conform_issue is not null then 'error' else 'info' end as severity,
        'instruments' as source_system,
        site_id,
        batch_id,
        _file_sha256 as file_sha256,
        min(_record_id) as record_id,
        count(*) as n_records,
        min(sampled_at_utc) as first_at_utc,
        max(sampled_at_utc) as last_at_utc,
        {{ dbt.concat(["'sample '", "sample_id", "' on '", "source_system"]) }} as detail
    from {{ ref('int_instruments__results_linked') }}
    where conform_issue is not null or batch_id is null
    group by conform_issue, site_id, batch_id, _file_sha256, sample_id, source_system
),

custody as (
    select * from {{ ref('int_custody__events_ordered') }}
),

custody_issues as (
    select
        issue_type,
        case
            when issue_type = 'repeated_record' then 'info'
            when issue_type like 'dst_%' then 'warning'
            else 'error'
        end as severity,
        'custody' as source_system,
        site_id,
        batch_id,
        _file_sha256 as file_sha256,
        _record_id as record_id,
        1 as n_records,
        event_time_utc as first_at_utc,
        event_time_utc as last_at_utc,
        {{ dbt.concat(["coi_id", "' '", "event_type"]) }} as detail
    from (
        select custody.*, 'custody_gap' as issue_type
        from custody where steps_missing_before > 0
        union all
        select custody.*, 'unsigned_handoff' as issue_type
        from custody where is_unsigned_handoff
        union all
        select custody.*, 'temperature_excursion' as issue_type
        from custody where is_temperature_excursion
        union all
        select custody.*, 'unknown_event_type' as issue_type
        from custody where is_unknown_event_type
        union all
        select custody.*, 'repeated_record' as issue_type
        from custody where n_copies > 1
        union all
        select custody.*, custody.time_issue as issue_type
        from custody where custody.time_issue is not null
    ) as flagged
),

mes_files as (
    select _record_id, _file_sha256 from {{ ref('stg_mes__batch_records') }}
    union all
    select _record_id, _file_sha256 from {{ ref('stg_mes__phases') }}
    union all
    select _record_id, _file_sha256 from {{ ref('stg_mes__parameters') }}
    union all
    select _record_id, _file_sha256 from {{ ref('stg_mes__deviations') }}
),

known_parameters as (
    select parameter_id from {{ ref('stg_ref__parameters') }}
),

known_products as (
    select product_id from {{ ref('stg_ref__processes') }}
),

batches as (
    select batch_id, site_id, product_id, process_type, started_at_utc, _record_id
    from {{ ref('dim_batch') }}
),

-- What a batch record says that the reference data does not know: kept in the marts as
-- written, reported here, used by the twin only where it can be mapped.
mes_flagged as (
    select
        'unmapped_parameter' as issue_type,
        setpoints.batch_id,
        setpoints._record_id,
        setpoints.recorded_at_utc as at_utc,
        {{ dbt.concat([
            "'batch-record parameter '", "setpoints.parameter_id", "' (phase '",
            "coalesce(setpoints.phase, '')", "') has no ref.parameters row'"
        ]) }} as detail
    from {{ ref('fct_batch_setpoint') }} as setpoints
    left join known_parameters on setpoints.parameter_id = known_parameters.parameter_id
    where known_parameters.parameter_id is null
    union all
    select
        'unknown_process_type' as issue_type,
        batch_id,
        _record_id,
        started_at_utc as at_utc,
        {{ dbt.concat([
            "'process_type '", "coalesce(process_type, '(none)')",
            "' is none of autologous, allogeneic, vector, other'"
        ]) }} as detail
    from batches
    where process_type is null or process_type not in ('autologous', 'allogeneic', 'vector', 'other')
    union all
    select
        'unknown_product' as issue_type,
        batches.batch_id,
        batches._record_id,
        batches.started_at_utc as at_utc,
        {{ dbt.concat([
            "'product '", "batches.product_id",
            "' has no ref.processes row: no grid, outcome or twin for its batches'"
        ]) }} as detail
    from batches
    left join known_products on batches.product_id = known_products.product_id
    where known_products.product_id is null
    union all
    select
        'unknown_deviation_class' as issue_type,
        batch_id,
        _record_id,
        opened_at_utc as at_utc,
        {{ dbt.concat([
            "'deviation '", "deviation_id", "' classification '",
            "coalesce(classification, '(none)')", "' is none of minor, major, critical'"
        ]) }} as detail
    from {{ ref('fct_deviation') }}
    where classification is null or classification not in ('minor', 'major', 'critical')
    union all
    select
        'phase_without_equipment' as issue_type,
        batch_id,
        _record_id,
        started_at_utc as at_utc,
        {{ dbt.concat([
            "'phase '", "phase", "' names no equipment: its readings cannot be attributed'"
        ]) }} as detail
    from {{ ref('fct_batch_phase') }}
    where equipment_id is null
),

mes_issues as (
    select
        mes_flagged.issue_type,
        'warning' as severity,
        'mes' as source_system,
        batches.site_id,
        mes_flagged.batch_id,
        mes_files._file_sha256 as file_sha256,
        mes_flagged._record_id as record_id,
        1 as n_records,
        mes_flagged.at_utc as first_at_utc,
        mes_flagged.at_utc as last_at_utc,
        mes_flagged.detail
    from mes_flagged
    left join batches on mes_flagged.batch_id = batches.batch_id
    left join mes_files on mes_flagged._record_id = mes_files._record_id
),

quarantined as (
    select
        'quarantined_rows' as issue_type,
        'error' as severity,
        ledger.system as source_system,
        ledger.site_id,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as batch_id,
        ledger.file_sha256,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as record_id,
        ledger.rows_quarantined as n_records,
        ledger.processed_at as first_at_utc,
        ledger.processed_at as last_at_utc,
        {{ dbt.concat(["ledger.status", "': '", "coalesce(ledger.reason, 'rows refused by the contract')"]) }}
            as detail
    from {{ ref('stg_ingest__file_ledger') }} as ledger
    where ledger.rows_quarantined > 0 or ledger.status = 'quarantined'
),

duplicate_files as (
    select
        'duplicate_file' as issue_type,
        'info' as severity,
        ledger.system as source_system,
        ledger.site_id,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as batch_id,
        ledger.file_sha256,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as record_id,
        0 as n_records,
        ledger.processed_at as first_at_utc,
        ledger.processed_at as last_at_utc,
        {{ dbt.concat(["'same bytes as an earlier file: '", "ledger.source_path"]) }} as detail
    from {{ ref('stg_ingest__file_ledger') }} as ledger
    where ledger.status = 'duplicate'
),

superseded_files as (
    select
        'superseded_file' as issue_type,
        'info' as severity,
        versions.system as source_system,
        versions.site_id,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as batch_id,
        versions.file_sha256,
        {{ dbt.safe_cast('null', api.Column.translate_type('string')) }} as record_id,
        versions.rows_loaded as n_records,
        versions.ingested_at as first_at_utc,
        versions.superseded_at_utc as last_at_utc,
        {{ dbt.concat([
            "'version '", dbt.safe_cast('versions.file_version', api.Column.translate_type('string')),
            "' of this path, superseded by file '", "versions.superseded_by_sha256",
            "': where both hold a record, the later version is used'"
        ]) }} as detail
    from {{ ref('stg_ingest__file_versions') }} as versions
    where versions.is_superseded
),

result_files as (
    -- the file of each lab result's record (a derived result carries its numerator's)
    select _record_id, _file_sha256 from {{ ref('int_lims__result_versions') }}
    union all
    select _record_id, _file_sha256 from {{ ref('int_instruments__results_linked') }}
),

out_of_spec as (
    -- a current result outside its product's specification: a rule about values, so a
    -- warning that names the result and its file (`biotwin trace` follows record_id)
    select
        'out_of_spec' as issue_type,
        'warning' as severity,
        case when results.source_system = 'lims' then 'lims' else 'instruments' end
            as source_system,
        results.site_id,
        results.batch_id,
        result_files._file_sha256 as file_sha256,
        results._record_id as record_id,
        1 as n_records,
        sampled_at_utc as first_at_utc,
        sampled_at_utc as last_at_utc,
        {{ dbt.concat([
            "parameter_id", "' = '", "case when censor in ('<', '>') then censor else '' end",
            "coalesce(" ~ number_text('value') ~ ", result_text, '')",
            "' '", "coalesce(unit, '')",
            "' at '", "coalesce(sample_point, '?')", "' outside '",
            "coalesce(" ~ number_text('spec_min') ~ ", '')", "'..'",
            "coalesce(" ~ number_text('spec_max') ~ ", '')",
            "' ('", "coalesce(criticality, '')", "', '", "source_system", "', '", "status", "')'"
        ]) }} as detail
    from {{ ref('fct_lab_result') }} as results
    left join result_files on results._record_id = result_files._record_id
    where results.out_of_spec and results.is_current and results.status <> 'cancelled'
),

issues as (
    select * from historian_unconformed
    union all
    select * from historian_implausible
    union all
    select * from historian_flagged
    union all
    select * from historian_overlaps
    union all
    select * from lims_issues
    union all
    select * from instrument_issues
    union all
    select * from custody_issues
    union all
    select * from mes_issues
    union all
    select * from quarantined
    union all
    select * from duplicate_files
    union all
    select * from superseded_files
    union all
    select * from out_of_spec
)

select
    {{ sha256_hex(dbt.concat([
        "issues.issue_type", "'|'", "issues.source_system", "'|'",
        "coalesce(issues.file_sha256, '')", "'|'", "coalesce(issues.record_id, '')", "'|'",
        "coalesce(issues.batch_id, '')", "'|'", "issues.detail"
    ])) }} as issue_id,
    issues.issue_type,
    issues.severity,
    issues.source_system,
    issues.site_id,
    issues.batch_id,
    coalesce(files.source_path, '') as source_path,
    issues.file_sha256,
    issues.record_id,
    {{ dbt.cast('issues.n_records', api.Column.translate_type('bigint')) }} as n_records,
    issues.first_at_utc,
    issues.last_at_utc,
    issues.detail
from issues
left join files on issues.file_sha256 = files.file_sha256
