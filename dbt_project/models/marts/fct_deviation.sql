select
    deviations.deviation_id,
    deviations.batch_id,
    deviations.classification,
    deviations.phase,
    deviations.opened_at_utc,
    deviations.description,
    deviations.record_version,
    deviations._record_id
from {{ ref('int_mes__deviations_latest') }} as deviations
