{#- ===========================================================================
    regex_extract(expr, pattern): the text the FIRST capturing group of the
    POSIX/Java regular expression `pattern` matched in `expr`; null when
    `expr` is null, does not match, or the group matched nothing. Write
    further groups as non-capturing (?:...) and avoid backslashes (use [?],
    [.]) so the pattern means the same in every engine's string literal.
=========================================================================== -#}
{% macro regex_extract(expr, pattern) -%}
    {{ adapter.dispatch('regex_extract', 'carehouse')(expr, pattern) }}
{%- endmacro %}

{% macro postgres__regex_extract(expr, pattern) -%}
    {#- substring(... from pattern) returns the first parenthesized group -#}
    nullif(substring({{ expr }} from '{{ pattern }}'), '')
{%- endmacro %}

{% macro default__regex_extract(expr, pattern) -%}
    {#- Spark SQL (regexp_extract gives '' when there is no match) -#}
    nullif(regexp_extract({{ expr }}, '{{ pattern }}', 1), '')
{%- endmacro %}


{#- regex_replace_all(expr, pattern, replacement): every match of `pattern`
    in `expr` replaced (same pattern rules as regex_extract). -#}
{% macro regex_replace_all(expr, pattern, replacement) -%}
    {{ adapter.dispatch('regex_replace_all', 'carehouse')(expr, pattern, replacement) }}
{%- endmacro %}

{% macro postgres__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro default__regex_replace_all(expr, pattern, replacement) -%}
    {#- Spark SQL: regexp_replace replaces every match -#}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}
