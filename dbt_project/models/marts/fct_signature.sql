with latest as (
    select batch_id, record_version from {{ ref('int_batch_records__latest') }}
)

select
    signatures._record_id,
    signatures.batch_id,
    signatures.phase,
    signatures.signer,
    signatures.meaning,
    signatures.signed_at_utc,
    signatures.record_version
from {{ ref('stg_mes__signatures') }} as signatures
inner join latest
    on signatures.batch_id = latest.batch_id
    and signatures.record_version = latest.record_version
