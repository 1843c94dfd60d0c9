select
    parameter_id,
    name,
    canonical_unit,
    kind,
    plausible_min,
    plausible_max
from {{ ref('stg_ref__parameters') }}
