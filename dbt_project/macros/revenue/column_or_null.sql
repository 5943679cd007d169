{#- ===========================================================================
    column_or_null(relation, column, data_type): the column when the relation
    has it, else a typed null. Bronze tables evolve with their files (dlt adds
    a column the first time a file carries it), so staging must compile both
    before and after a feed's schema change.
=========================================================================== -#}
{% macro column_or_null(relation, column, data_type=none) -%}
    {%- set data_type = data_type or dbt.type_string() -%}
    {%- if execute -%}
        {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- else -%}
        {%- set names = [] -%}
    {%- endif -%}
    {%- if column | lower in names -%}
        {{ adapter.quote(column) }}
    {%- else -%}
        cast(null as {{ data_type }})
    {%- endif -%}
{%- endmacro %}
