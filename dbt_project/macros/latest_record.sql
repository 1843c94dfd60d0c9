{#
  Keep only rows of a batch record's latest version: every MES record type (phases, materials,
  signatures, deviations, parameters) carries batch_id and record_version, and the marts show
  the version a batch is judged by (int_batch_records__latest). Joined as `latest_record`.
#}
{% macro join_latest_record(alias) -%}
    inner join {{ ref('int_batch_records__latest') }} as latest_record
        on {{ alias }}.batch_id = latest_record.batch_id
        and {{ alias }}.record_version = latest_record.record_version
{%- endmacro %}
