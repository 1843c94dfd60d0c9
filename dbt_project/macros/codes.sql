{#
  Codes the source systems document. A value outside them still flows (a rule about values,
  docs/conformed.md): dq_issues reports it, and a warning test on the column counts it.
#}
{% macro lims_statuses() -%}
    ('entered', 'reviewed', 'approved', 'rejected', 'cancelled')
{%- endmacro %}
