{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
-- Each distinct naive local timestamp of a CSV historian site, resolved once with the site's
-- time zone (there are far fewer distinct minutes than readings). Times that DST makes
-- ambiguous or non-existent get no UTC instant and a time_issue instead.
-- Incremental: a build resolves only the local times of files loaded since the last one
-- (first_loaded_at is the watermark) that are not resolved yet; a change of a site's time zone
-- in the reference data needs --full-refresh.
with points as (
    select site_id, ts_local, _ingested_at
    from {{ ref('stg_historian__points') }}
    where ts_local is not null
    {% if is_incremental() %}
        and _ingested_at > {{ incremental_watermark('first_loaded_at') }}
    {% endif %}
),

local_times as (
    select site_id, ts_local, min(_ingested_at) as first_loaded_at
    from points
    group by site_id, ts_local
),

{% if is_incremental() %}
unresolved as (
    select local_times.*
    from local_times
    where not exists (
        select 1 from {{ this }} as resolved
        where resolved.site_id = local_times.site_id and resolved.ts_local = local_times.ts_local
    )
),
{% else %}
unresolved as (
    select * from local_times
),
{% endif %}

sites as (
    select site_id, timezone from {{ ref('stg_ref__sites') }}
),

checked as (
    select
        unresolved.site_id,
        unresolved.ts_local,
        unresolved.first_loaded_at,
        sites.timezone,
        {{ local_to_utc('unresolved.ts_local', 'sites.timezone') }} as ts_utc_candidate,
        {{ dst_issue('unresolved.ts_local', 'sites.timezone') }} as dst_issue
    from unresolved
    left join sites on unresolved.site_id = sites.site_id
)

select
    site_id,
    ts_local,
    timezone,
    case when dst_issue is null then ts_utc_candidate end as ts_utc,
    case when timezone is null then 'unknown_site_timezone' else dst_issue end as time_issue,
    first_loaded_at
from checked
