{#- ===========================================================================
    from_utc_timestamp(expr): a UTC wall-clock timestamp (without time zone,
    e.g. a snapshot's dbt_valid_from) as a timestamp with time zone, the
    inverse of to_utc_timestamp. Independent of the session time zone.
=========================================================================== -#}
{% macro from_utc_timestamp(expr) -%}
    {{ adapter.dispatch('from_utc_timestamp', 'carehouse')(expr) }}
{%- endmacro %}

{% macro postgres__from_utc_timestamp(expr) -%}
    (({{ expr }}) at time zone 'UTC')
{%- endmacro %}

{% macro default__from_utc_timestamp(expr) -%}
    cast({{ expr }} as {{ api.Column.translate_type('timestamp') }})
{%- endmacro %}


{#- ===========================================================================
    utc_timestamp_literal(text): a constant UTC instant as timestamp with time
    zone, e.g. utc_timestamp_literal('1900-01-01 00:00:00').
=========================================================================== -#}
{% macro utc_timestamp_literal(text) -%}
    {{ carehouse.from_utc_timestamp("cast('" ~ text ~ "' as " ~ api.Column.translate_type('timestamp') ~ ")") }}
{%- endmacro %}
