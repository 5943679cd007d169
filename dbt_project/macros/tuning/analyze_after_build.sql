{#- ===========================================================================
    analyze_after_build(): the project's post-hook on every model, snapshot and
    seed (dbt_project.yml). Gives the planner statistics as soon as a table is
    built, inside the build's transaction (so the table is never visible without
    them): autovacuum would analyze it only later, and in between a join reading
    a fresh 400,000-row table is planned as if it held one row. Also after an
    incremental merge (the rows it appended change the distribution). Views and
    ephemeral models have nothing to analyze; on other adapters a no-op.
=========================================================================== -#}
{% macro analyze_after_build() -%}
    {{ return(adapter.dispatch('analyze_after_build', 'carehouse')()) }}
{%- endmacro %}

{% macro default__analyze_after_build() -%}{%- endmacro %}

{% macro postgres__analyze_after_build() -%}
    {%- if execute and model.config.materialized in ('table', 'incremental', 'snapshot', 'seed') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
