{#- ===========================================================================
    json_text(column, path): the value at `path` inside a JSON document column,
    as trimmed text; blank strings become null. `path` is a list of object keys
    and array indexes, e.g. ['type', 0, 'coding', 0, 'code'].
    Missing keys, wrong shapes (an array where an object is expected, a scalar
    document) all yield null instead of an error.
=========================================================================== -#}
{% macro json_text(column, path) -%}
    {%- if path is string or path | length == 0 -%}
        {{ exceptions.raise_compiler_error("json_text: `path` must be a non-empty list of keys/indexes, got " ~ path) }}
    {%- endif -%}
    nullif(trim({{ adapter.dispatch('json_text_raw', 'carehouse')(column, path) }}), '')
{%- endmacro %}

{% macro postgres__json_text_raw(column, path) -%}
    ({{ column }} #>> '{ {{- path | join(",") -}} }')
{%- endmacro %}

{% macro default__json_text_raw(column, path) -%}
    {{ exceptions.raise_compiler_error("json_text has no implementation for adapter '" ~ adapter.type() ~ "'; add a " ~ adapter.type() ~ "__json_text_raw macro.") }}
{%- endmacro %}


{#- ===========================================================================
    json_array_lookup_text(column, array_path, match_key, match_value, return_key):
    in the array at `array_path`, the first element whose `match_key` equals
    `match_value`; returns that element's `return_key` as trimmed text.
    Used for FHIR lists keyed by `system` (telecom, identifier).
=========================================================================== -#}
{% macro json_array_lookup_text(column, array_path, match_key, match_value, return_key) -%}
    nullif(trim({{ adapter.dispatch('json_array_lookup_text', 'carehouse')(column, array_path, match_key, match_value, return_key) }}), '')
{%- endmacro %}

{% macro postgres__json_array_lookup_text(column, array_path, match_key, match_value, return_key) -%}
    {#- lax-mode jsonpath: structural surprises yield no match, never an error -#}
    (jsonb_path_query_first(
        {{ column }},
        '$.{{ array_path | join(".") }}[*] ? (@.{{ match_key }} == $match).{{ return_key }}',
        jsonb_build_object('match', cast('{{ match_value }}' as text))
    ) #>> '{}')
{%- endmacro %}

{% macro default__json_array_lookup_text(column, array_path, match_key, match_value, return_key) -%}
    {{ exceptions.raise_compiler_error("json_array_lookup_text has no implementation for adapter '" ~ adapter.type() ~ "'.") }}
{%- endmacro %}
