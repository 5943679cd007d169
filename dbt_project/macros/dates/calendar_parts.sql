{#- ===========================================================================
    Calendar parts that ANSI EXTRACT does not cover portably.
    iso_day_of_week(date_expr): 1 = Monday ... 7 = Sunday.
    day_of_year(date_expr): 1 ... 366.
=========================================================================== -#}
{% macro iso_day_of_week(date_expr) -%}
    {{ adapter.dispatch('iso_day_of_week', 'carehouse')(date_expr) }}
{%- endmacro %}

{% macro postgres__iso_day_of_week(date_expr) -%}
    cast(extract(isodow from {{ date_expr }}) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro default__iso_day_of_week(date_expr) -%}
    cast(extract(dayofweekiso from {{ date_expr }}) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro day_of_year(date_expr) -%}
    {{ adapter.dispatch('day_of_year', 'carehouse')(date_expr) }}
{%- endmacro %}

{% macro postgres__day_of_year(date_expr) -%}
    cast(extract(doy from {{ date_expr }}) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro default__day_of_year(date_expr) -%}
    cast(extract(dayofyear from {{ date_expr }}) as {{ dbt.type_int() }})
{%- endmacro %}
