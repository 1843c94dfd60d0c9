select
    signatures._record_id,
    signatures.batch_id,
    signatures.phase,
    signatures.signer,
    signatures.meaning,
    signatures.signed_at_utc,
    signatures.record_version
from {{ ref('stg_mes__signatures') }} as signatures
{{ join_latest_record('signatures') }}
