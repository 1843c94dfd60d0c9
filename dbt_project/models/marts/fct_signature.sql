select
    signatures._record_id,
    signatures.batch_id,
    signatures.phase,
    signatures.signer,
    signatures.meaning,
    signatures.signed_at_utc,
    signatures.record_version
from {{ ref('int_mes__signatures_latest') }} as signatures
