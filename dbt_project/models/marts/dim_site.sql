select
    site_id,
    name,
    timezone,
    sample_id_pattern
from {{ ref('stg_ref__sites') }}
