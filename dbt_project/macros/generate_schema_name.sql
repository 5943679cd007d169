{#- ===========================================================================
    Schema naming: a custom schema (silver, gold, review, ...) is used verbatim,
    not prefixed with the target schema (dbt's default would give silver_gold).
    Nodes without a custom schema land in the target schema.
=========================================================================== -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
