{#- ===========================================================================
    greatest_not_null(a, b): the larger of two comparable values, ignoring a
    null one; null only when both are null. (Postgres' greatest() ignores
    nulls, but Snowflake / BigQuery / Spark return null when any argument is
    null, so the rule is spelled out.)
=========================================================================== -#}
{% macro greatest_not_null(a, b) -%}
    (case
        when ({{ a }}) is null then ({{ b }})
        when ({{ b }}) is null then ({{ a }})
        when ({{ a }}) >= ({{ b }}) then ({{ a }})
        else ({{ b }})
    end)
{%- endmacro %}
