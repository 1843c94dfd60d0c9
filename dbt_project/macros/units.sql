{#
  Unit conversion to a parameter's canonical unit, shared by every model that converts
  (historian points, instrument and lab results, batch-record set-points):
  `unit_conversions()` is the body of a CTE named `units` over ref.units; once that CTE is
  left-joined on (source unit, canonical unit), `to_canonical()` is the converted value and
  `unit_known()` says whether the unit could be converted. A value already in its canonical unit
  is kept as it is.
#}
{% macro unit_conversions() -%}
    select from_unit, to_unit, factor, {{ adapter.quote("offset") }} as unit_offset
    from {{ source('ref', 'units') }}
{%- endmacro %}

{% macro to_canonical(value, source_unit, canonical_unit, conversions='units') -%}
    case
        when {{ source_unit }} = {{ canonical_unit }} then {{ value }}
        else {{ value }} * {{ conversions }}.factor + {{ conversions }}.unit_offset
    end
{%- endmacro %}

{% macro unit_known(source_unit, canonical_unit, conversions='units') -%}
    ({{ source_unit }} = {{ canonical_unit }} or {{ conversions }}.factor is not null)
{%- endmacro %}
