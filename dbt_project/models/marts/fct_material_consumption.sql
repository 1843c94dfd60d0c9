-- Material lots consumed per batch (latest record version): the genealogy, e.g. which batches
-- consumed a vector lot.
with latest as (
    select batch_id, record_version from {{ ref('int_batch_records__latest') }}
)

select
    materials.batch_id,
    materials.material_id,
    materials.lot,
    materials.quantity,
    materials.unit,
    materials.phase,
    materials.consumed_at_utc,
    materials.record_version,
    materials._record_id
from {{ ref('stg_mes__materials') }} as materials
inner join latest
    on materials.batch_id = latest.batch_id
    and materials.record_version = latest.record_version
