{#
  Unit conversion to a parameter's canonical unit, shared by every model that converts
  (historian points, batch-record set-points, lab results): `unit_conversions()` is the body of a
  CTE over ref.units, `to_canonical()` the value expression once that CTE is left-joined on
  (source unit, canonical unit). A value already in its canonical unit is kept as it is.
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
