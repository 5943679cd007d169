{#- ===========================================================================
    The billing systems' daily full extracts of reference lists (departments,
    providers): the newest extract of each system is the current list
    (is_latest_extract); older extracts stay for audit.

    latest_extracts(staged): a boolean for a WHERE over the rows of
        {{ this }}: the rows of the newest extract here of each system that a
        new staged row (`staged`, the CTE of the new rows) belongs to; only
        they can stop being the newest. Example (stg_billing__departments):
            {{ new_and_previous_rows(staged_columns, latest_extracts()) }}
=========================================================================== -#}
{% macro latest_extracts(staged='staged') -%}
    is_latest_extract
        and source_system in (select source_system from {{ staged }})
{%- endmacro %}
