select
    site_id,
    name,
    timezone,
    sample_id_pattern
from {{ source('ref', 'sites') }}
