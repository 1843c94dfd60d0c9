-- Each distinct naive local timestamp of a CSV historian site, resolved once with the site's
-- time zone (there are far fewer distinct minutes than readings). Times that DST makes
-- ambiguous or non-existent get no UTC instant and a time_issue instead.
with local_times as (
    select distinct site_id, ts_local
    from {{ ref('stg_historian__points') }}
    where ts_local is not null
),

sites as (
    select site_id, timezone from {{ ref('stg_ref__sites') }}
),

checked as (
    select
        local_times.site_id,
        local_times.ts_local,
        sites.timezone,
        {{ local_to_utc('local_times.ts_local', 'sites.timezone') }} as ts_utc_candidate,
        {{ dst_issue('local_times.ts_local', 'sites.timezone') }} as dst_issue
    from local_times
    left join sites on local_times.site_id = sites.site_id
)

select
    site_id,
    ts_local,
    timezone,
    case when dst_issue is null then ts_utc_candidate end as ts_utc,
    case when timezone is null then 'unknown_site_timezone' else dst_issue end as time_issue
from checked
