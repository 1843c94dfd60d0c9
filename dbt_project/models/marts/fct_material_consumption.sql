-- Material lots consumed per batch (latest record version): the genealogy, e.g. which batches
-- consumed a vector lot.
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
from {{ ref('int_mes__materials_latest') }} as materials
