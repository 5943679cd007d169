{#- ===========================================================================
    materialized_cte(): the keyword between a CTE's name and its body that
    makes the database compute the CTE once, e.g.
        typed {{ materialized_cte() }} ( select ... ),
    Postgres inlines a CTE into every place that reads it, so a regex, cast
    or JSON path of staging's typed / validated steps would run once per
    reference (each dq rule reads the typed columns again); `as materialized`
    computes them once. Engines without the keyword get a plain `as`.
=========================================================================== -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'carehouse')()) }}
{%- endmacro %}

{% macro postgres__materialized_cte() -%}
    as materialized
{%- endmacro %}

{% macro default__materialized_cte() -%}
    as
{%- endmacro %}
