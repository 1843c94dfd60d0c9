{#
  The only place with engine-specific SQL. Models call these macros; each has a DuckDB
  implementation and a default (standard SQL / Spark) one, so the project can move to another
  adapter by adding a pair here, not by editing models.
#}

{# A naive local wall-clock timestamp in `tz` (IANA name) -> timestamp with time zone (UTC). #}
{% macro local_to_utc(ts_local, tz) -%}
    {{ return(adapter.dispatch('local_to_utc', 'biotwin')(ts_local, tz)) }}
{%- endmacro %}
{% macro duckdb__local_to_utc(ts_local, tz) -%}
    timezone({{ tz }}, {{ ts_local }})
{%- endmacro %}
{% macro default__local_to_utc(ts_local, tz) -%}
    to_utc_timestamp({{ ts_local }}, {{ tz }})
{%- endmacro %}

{# A UTC instant -> the naive wall-clock time it shows in `tz`. #}
{% macro utc_to_local(ts_utc, tz) -%}
    {{ return(adapter.dispatch('utc_to_local', 'biotwin')(ts_utc, tz)) }}
{%- endmacro %}
{% macro duckdb__utc_to_local(ts_utc, tz) -%}
    timezone({{ tz }}, {{ ts_utc }})
{%- endmacro %}
{% macro default__utc_to_local(ts_utc, tz) -%}
    from_utc_timestamp({{ ts_utc }}, {{ tz }})
{%- endmacro %}

{# Capture group `group` (a number) of a regular expression, or '' when it does not match. #}
{% macro regex_group(text, pattern, group) -%}
    {{ return(adapter.dispatch('regex_group', 'biotwin')(text, pattern, group)) }}
{%- endmacro %}
{% macro default__regex_group(text, pattern, group) -%}
    regexp_extract({{ text }}, {{ pattern }}, {{ group }})
{%- endmacro %}
{# Java's regular expressions name a group (?<name>…), Python's and DuckDB's (?P<name>…): the
   site patterns are written the Python way (sites.csv), so Spark reads them translated. #}
{% macro spark__regex_group(text, pattern, group) -%}
    regexp_extract({{ text }}, replace({{ pattern }}, '(?P<', '(?<'), {{ group }})
{%- endmacro %}

{# Every match of `pattern` replaced (DuckDB replaces only the first without the 'g' flag). #}
{% macro regex_replace_all(text, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'biotwin')(text, pattern, replacement)) }}
{%- endmacro %}
{% macro duckdb__regex_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}
{% macro default__regex_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{# Hex sha256 of a string: deterministic keys for marts and dq_issues. #}
{% macro sha256_hex(text) -%}
    {{ return(adapter.dispatch('sha256_hex', 'biotwin')(text)) }}
{%- endmacro %}
{% macro duckdb__sha256_hex(text) -%}
    sha256({{ text }})
{%- endmacro %}
{% macro default__sha256_hex(text) -%}
    sha2({{ text }}, 256)
{%- endmacro %}

{# Hours between two timestamps, fractional (elapsed time since batch start). #}
{# (A double: Spark reads 3600.0 as a decimal, and integer / decimal stays a decimal of six
   places, a rounding DuckDB does not do.) #}
{% macro hours_between(start_ts, end_ts) -%}
    ({{ dbt.cast(dbt.datediff(start_ts, end_ts, 'second'), api.Column.translate_type('double')) }} / 3600.0)
{%- endmacro %}

{# A number as text the same on every engine: rounded to `places` decimals, trailing zeros
   dropped ('9.4655', '70', '20000000'); a double's own text is not (Spark writes 2.0E7). #}
{% macro number_text(expr, places=4) -%}
    {{ regex_replace_all(
        dbt.safe_cast(
            dbt.safe_cast('round(' ~ expr ~ ', ' ~ places ~ ')', 'decimal(38, ' ~ places ~ ')'),
            api.Column.translate_type('string')),
        "'[.]?0+$'", "''") }}
{%- endmacro %}

{# A batch id reduced to upper-case letters and digits: 'cart 2026 0001' = 'CART-2026-0001'. #}
{% macro normalise_batch_ref(text) -%}
    upper({{ regex_replace_all(text, "'[^A-Za-z0-9]'", "''") }})
{%- endmacro %}

{#
  Why a local wall-clock time cannot be turned into one UTC instant, or null when it can:
  'dst_nonexistent' (skipped by spring-forward) or 'dst_ambiguous' (shown twice at fall-back).
  Such times are flagged, never guessed.
#}
{% macro dst_issue(ts_local, tz) -%}
    case
        when {{ utc_to_local(local_to_utc(ts_local, tz), tz) }} <> {{ ts_local }}
            then 'dst_nonexistent'
        when {{ utc_to_local(dbt.dateadd('hour', -1, local_to_utc(ts_local, tz)), tz) }} = {{ ts_local }}
            or {{ utc_to_local(dbt.dateadd('hour', 1, local_to_utc(ts_local, tz)), tz) }} = {{ ts_local }}
            then 'dst_ambiguous'
    end
{%- endmacro %}


{#
  The deterministic id of a raw record, exactly as the raw views compute it
  (assets/ingest/tables.py): sha256 of the file's sha256, ':' and the record's position (or
  row number). Marts compute it once, on the rows they keep, instead of carrying the view's
  column through every join.
#}
{% macro raw_record_id(file_sha256, position, row_number) -%}
    {{ sha256_hex(dbt.concat([
        file_sha256, "':'",
        "coalesce(" ~ position ~ ", " ~ dbt.safe_cast(row_number, api.Column.translate_type('string')) ~ ")"
    ])) }}
{%- endmacro %}

{# The mean of a double column, the same bits whatever order the rows arrive in: a float sum
   depends on the order (DuckDB's parallel aggregation combines partial sums in whichever order
   its threads finish), an exact decimal sum does not. Nulls are skipped, as avg() skips them. #}
{% macro exact_mean(expr) -%}
    {{ dbt.cast(
        'sum(' ~ dbt.cast(expr, 'decimal(38, 12)') ~ ') / count(' ~ expr ~ ')',
        api.Column.translate_type('double')
    ) }}
{%- endmacro %}
