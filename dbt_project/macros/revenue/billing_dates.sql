{#- ===========================================================================
    safe_cast_us_date(expr): a US-style MM/DD/YYYY text date (epic's billing
    extracts) as a date; null, never an error, for anything else, including
    impossible days such as 02/30/2025.
    billing_date(expr, system_expr): the billing systems' service/posting
    dates: athena sends ISO 8601 (YYYY-MM-DD), epic MM/DD/YYYY.
=========================================================================== -#}
{% macro safe_cast_us_date(expr) -%}
    {{ carehouse.safe_cast_date(
        "case when " ~ carehouse.regex_full_match(expr, '^\\d{2}/\\d{2}/\\d{4}$')
        ~ " then " ~ dbt.concat(["substr(" ~ expr ~ ", 7, 4)", "'-'", "substr(" ~ expr ~ ", 1, 2)", "'-'", "substr(" ~ expr ~ ", 4, 2)"])
        ~ " end"
    ) }}
{%- endmacro %}

{% macro billing_date(expr, system_expr) -%}
    (case
        when {{ system_expr }} = 'epic' then {{ carehouse.safe_cast_us_date(expr) }}
        else {{ carehouse.safe_cast_date(expr) }}
    end)
{%- endmacro %}
