{#- ===========================================================================
    to_utc_timestamp(expr): a timestamp-with-time-zone as a UTC wall-clock
    timestamp, so calendar arithmetic (dbt.datediff) measures elapsed time
    whatever the session time zone is (no DST jumps).
=========================================================================== -#}
{% macro to_utc_timestamp(expr) -%}
    {{ adapter.dispatch('to_utc_timestamp', 'carehouse')(expr) }}
{%- endmacro %}

{% macro postgres__to_utc_timestamp(expr) -%}
    (({{ expr }}) at time zone 'UTC')
{%- endmacro %}

{% macro default__to_utc_timestamp(expr) -%}
    cast({{ expr }} as {{ api.Column.translate_type('timestamp') }})
{%- endmacro %}
