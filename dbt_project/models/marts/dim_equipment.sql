-- Equipment known from the tag dictionary or from batch records, with what it measures and
-- how often batches ran on it.
with tagged as (
    select site_id, equipment_id, count(*) as n_tags
    from {{ ref('stg_ref__tags') }}
    group by site_id, equipment_id
),

used as (
    select
        site_id,
        equipment_id,
        count(distinct batch_id) as n_batches,
        min(started_at_utc) as first_used_at_utc,
        max(started_at_utc) as last_used_at_utc
    from {{ ref('int_mes__phases_latest') }}
    group by site_id, equipment_id
),

equipment as (
    select site_id, equipment_id from tagged
    union
    select site_id, equipment_id from used
)

select
    equipment.equipment_id,
    equipment.site_id,
    coalesce(tagged.n_tags, 0) as n_tags,
    coalesce(used.n_batches, 0) as n_batches,
    used.first_used_at_utc,
    used.last_used_at_utc
from equipment
left join tagged
    on equipment.site_id = tagged.site_id and equipment.equipment_id = tagged.equipment_id
left join used
    on equipment.site_id = used.site_id and equipment.equipment_id = used.equipment_id
