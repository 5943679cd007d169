{#- ===========================================================================
    safe_cast_integer(expr) / safe_cast_numeric(expr): cast text to an integer
    / a decimal number, returning null (never an error) for anything that is
    not one (e.g. 'abc', '12.5' for an integer, '' or null).

    Postgres has no TRY_CAST: only text that passes a strict shape check is
    cast (integers limited to 9 digits, so the cast cannot overflow).
    Other adapters fall back to dbt.safe_cast (TRY_CAST / SAFE_CAST).
=========================================================================== -#}

{% macro safe_cast_integer(expr) -%}
    {{ adapter.dispatch('safe_cast_integer', 'carehouse')(expr) }}
{%- endmacro %}

{% macro safe_cast_numeric(expr) -%}
    {{ adapter.dispatch('safe_cast_numeric', 'carehouse')(expr) }}
{%- endmacro %}

{% macro postgres__safe_cast_integer(expr) -%}
    (case
        when {{ carehouse.regex_full_match(expr, '^[+-]?\\d{1,9}$') }}
            then cast({{ expr }} as {{ dbt.type_int() }})
    end)
{%- endmacro %}

{% macro postgres__safe_cast_numeric(expr) -%}
    (case
        when {{ carehouse.regex_full_match(expr, '^[+-]?(\\d{1,15}(\\.\\d{0,15})?|\\.\\d{1,15})$') }}
            then cast({{ expr }} as {{ dbt.type_numeric() }})
    end)
{%- endmacro %}

{% macro default__safe_cast_integer(expr) -%}
    {{ dbt.safe_cast(expr, dbt.type_int()) }}
{%- endmacro %}

{% macro default__safe_cast_numeric(expr) -%}
    {{ dbt.safe_cast(expr, dbt.type_numeric()) }}
{%- endmacro %}
