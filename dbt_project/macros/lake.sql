{#
  On an engine that reads the lake (Spark), every source is a view over its Parquet dataset
  under `biotwin_lake` (assets/lake.py writes them from the DuckDB ingestion), created before
  the models run. On DuckDB the sources are the ingestion's own tables: nothing to do.
#}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources', 'biotwin')()) }}
{%- endmacro %}

{% macro duckdb__register_lake_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
        {%- set lake = var('biotwin_lake', env_var('BIOTWIN_LAKE', 'lake')) -%}
        {%- set schemas = [] -%}
        {%- for source in graph.sources.values() -%}
            {%- if source.schema not in schemas -%}
                {%- do schemas.append(source.schema) -%}
                {%- do run_query('create database if not exists ' ~ source.schema) -%}
            {%- endif -%}
            {%- do run_query(
                'create or replace view ' ~ source.schema ~ '.' ~ source.identifier
                ~ ' as select * from parquet.`' ~ lake ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ '`'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
