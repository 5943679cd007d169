{#- ===========================================================================
    to_local_timestamp(expr, time_zone): a timestamp with time zone as the
    wall-clock time (timestamp without time zone) in `time_zone`, an IANA
    name such as 'America/New_York'. Calendar days, midnights and days of the
    week of hospital events are taken in the hospitals' own time zone (see
    hospital_time_zone()), independent of the session time zone.
=========================================================================== -#}
{% macro to_local_timestamp(expr, time_zone) -%}
    {{ adapter.dispatch('to_local_timestamp', 'carehouse')(expr, time_zone) }}
{%- endmacro %}

{% macro postgres__to_local_timestamp(expr, time_zone) -%}
    (({{ expr }}) at time zone '{{ time_zone }}')
{%- endmacro %}

{#- Snowflake, Redshift and Databricks all have convert_timezone(target_tz, ts) -#}
{% macro default__to_local_timestamp(expr, time_zone) -%}
    convert_timezone('{{ time_zone }}', {{ expr }})
{%- endmacro %}
