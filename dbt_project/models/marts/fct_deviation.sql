with latest as (
    select batch_id, record_version from {{ ref('int_batch_records__latest') }}
)

select
    deviations.deviation_id,
    deviations.batch_id,
    deviations.classification,
    deviations.phase,
    deviations.opened_at_utc,
    deviations.description,
    deviations.record_version,
    deviations._record_id
from {{ ref('stg_mes__deviations') }} as deviations
inner join latest
    on deviations.batch_id = latest.batch_id
    and deviations.record_version = latest.record_version
