-- Every landing file ingestion has seen, as raw.file_ledger holds it: loaded, partially loaded,
-- quarantined (with the reason), duplicate, or refused before it was read (no sha256).
with source as (
    select * from {{ source('ingest', 'file_ledger') }}
),

renamed as (
    select
        file_sha256,
        source_path,
        size_bytes,
        system,
        site_id,
        status,
        reason,
        rows_read,
        rows_loaded,
        rows_quarantined,
        contract,
        contract_version,
        run_id,
        first_seen_at,
        processed_at
    from source
)

select * from renamed
