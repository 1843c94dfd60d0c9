-- One row per landing file whose records reached raw: where it came from, when it was loaded,
-- and whether a later version of the same path superseded it. Every mart row that carries a
-- `_file_sha256` (or whose `_record_id` leads to one through `biotwin trace`) joins here, so a
-- reader sees that a value came from a file that was re-sent.
select
    file_sha256,
    source_path,
    system,
    site_id,
    run_id,
    ingested_at as ingested_at_utc,
    {{ dbt.cast('rows_loaded', api.Column.translate_type('bigint')) }} as rows_loaded,
    {{ dbt.cast('file_version', api.Column.translate_type('bigint')) }} as file_version,
    {{ dbt.cast('n_versions', api.Column.translate_type('bigint')) }} as n_versions,
    is_superseded,
    superseded_by_sha256,
    superseded_at_utc
from {{ ref('stg_ingest__file_versions') }}
