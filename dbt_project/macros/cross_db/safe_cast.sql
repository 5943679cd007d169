{#- ===========================================================================
    safe_cast_timestamptz(expr) / safe_cast_date(expr): cast ISO 8601 text,
    returning null (never an error) for anything that is not a real instant/day.

    Postgres has no TRY_CAST (and pg_input_is_valid needs v16), so the postgres implementation only
    casts text that passes a strict ISO 8601 shape check (ranges included) and
    a calendar check (no Feb 30, no year 0). Nested CASE keeps the evaluation
    order guaranteed, also when the planner folds constants.
    Other adapters fall back to dbt.safe_cast (TRY_CAST / SAFE_CAST).
=========================================================================== -#}

{% macro safe_cast_timestamptz(expr) -%}
    {{ adapter.dispatch('safe_cast_timestamptz', 'carehouse')(expr) }}
{%- endmacro %}

{% macro safe_cast_date(expr) -%}
    {{ adapter.dispatch('safe_cast_date', 'carehouse')(expr) }}
{%- endmacro %}

{#- true when the first 10 characters of a shape-checked value are a real calendar day -#}
{% macro _postgres__is_calendar_day(expr) -%}
    cast(substr({{ expr }}, 1, 4) as integer) >= 1
    and cast(substr({{ expr }}, 9, 2) as integer) <= extract(day from (
        make_date(cast(substr({{ expr }}, 1, 4) as integer), cast(substr({{ expr }}, 6, 2) as integer), 1)
        + interval '1 month' - interval '1 day'
    ))
{%- endmacro %}

{% macro postgres__safe_cast_timestamptz(expr) -%}
    {%- set pattern = '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])'
        ~ '([T ]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,9})?)?'
        ~ '(Z|[+-](0\\d|1[0-4])(:?[0-5]\\d)?)?)?$' -%}
    (case
        when not {{ carehouse.regex_full_match(expr, pattern) }} then null
        else case
            when {{ carehouse._postgres__is_calendar_day(expr) }}
                then cast({{ expr }} as timestamptz)
        end
    end)
{%- endmacro %}

{% macro postgres__safe_cast_date(expr) -%}
    {%- set pattern = '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$' -%}
    (case
        when not {{ carehouse.regex_full_match(expr, pattern) }} then null
        else case
            when {{ carehouse._postgres__is_calendar_day(expr) }}
                then cast({{ expr }} as date)
        end
    end)
{%- endmacro %}

{% macro default__safe_cast_timestamptz(expr) -%}
    {{ dbt.safe_cast(expr, dbt.type_timestamp()) }}
{%- endmacro %}

{% macro default__safe_cast_date(expr) -%}
    {{ dbt.safe_cast(expr, 'date') }}
{%- endmacro %}
