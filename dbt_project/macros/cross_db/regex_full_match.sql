{#- ===========================================================================
    regex_full_match(expr, pattern): true when `expr` matches the (anchored)
    POSIX regular expression `pattern`; false when it does not or is null.
=========================================================================== -#}
{% macro regex_full_match(expr, pattern) -%}
    {{ adapter.dispatch('regex_full_match', 'carehouse')(expr, pattern) }}
{%- endmacro %}

{% macro postgres__regex_full_match(expr, pattern) -%}
    coalesce(({{ expr }}) ~ '{{ pattern }}', false)
{%- endmacro %}

{% macro default__regex_full_match(expr, pattern) -%}
    coalesce(regexp_like({{ expr }}, '{{ pattern }}'), false)
{%- endmacro %}
