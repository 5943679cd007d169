{#- ===========================================================================
    date_key(date_expr): the integer YYYYMMDD key of a calendar date
    (2025-03-01 -> 20250301), the key of gold.dim_date. Null in, null out.
    EXTRACT is ANSI SQL, so no dispatch is needed.
=========================================================================== -#}
{% macro date_key(date_expr) -%}
    cast(
        extract(year from {{ date_expr }}) * 10000
        + extract(month from {{ date_expr }}) * 100
        + extract(day from {{ date_expr }})
    as {{ dbt.type_int() }})
{%- endmacro %}
