{#
  Unit conversion to a parameter's canonical unit, shared by every model that converts
  (historian points, instrument and lab results, batch-record set-points). A model left-joins
  `stg_ref__units` on (source unit, canonical unit) under an alias of its choosing and passes
  that alias: `to_canonical()` is the converted value, `unit_known()` whether the unit could be
  converted. A value already in its canonical unit is kept as it is.
#}
{% macro to_canonical(value, source_unit, canonical_unit, conversions) -%}
    case
        when {{ source_unit }} = {{ canonical_unit }} then {{ value }}
        else {{ value }} * {{ conversions }}.factor + {{ conversions }}.unit_offset
    end
{%- endmacro %}

{% macro unit_known(source_unit, canonical_unit, conversions) -%}
    ({{ source_unit }} = {{ canonical_unit }} or {{ conversions }}.factor is not null)
{%- endmacro %}
