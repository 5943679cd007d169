{#- ===========================================================================
    JSON sub-documents and arrays, for FHIR elements that repeat (an
    Observation panel's component[]).

    json_value(column, path): the JSON value at `path` (a list of keys and
        indexes, as json_text takes) as JSON, not text; null when missing.
    json_array_length(expr): elements of a JSON array; null when expr is null
        or not an array (never an error).
    json_array_rows(expr, element, position): a FROM-clause fragment that
        joins one row per element of the JSON array `expr` (a row whose value
        is not an array gets none): `element` is the element as JSON (read it
        with json_text(element, [...])), `position` its 1-based position.
=========================================================================== -#}
{% macro json_value(column, path) -%}
    {%- if path is string or path | length == 0 -%}
        {{ exceptions.raise_compiler_error("json_value: `path` must be a non-empty list of keys/indexes, got " ~ path) }}
    {%- endif -%}
    {{ adapter.dispatch('json_value', 'carehouse')(column, path) }}
{%- endmacro %}

{% macro postgres__json_value(column, path) -%}
    ({{ column }} #> '{ {{- path | join(",") -}} }')
{%- endmacro %}

{#- Spark SQL: JSON stays a string; get_json_object returns the sub-document as JSON text. -#}
{% macro default__json_value(column, path) -%}
    {%- set json_path = ['$'] -%}
    {%- for part in path -%}
        {%- do json_path.append('[' ~ part ~ ']' if part is number else '.' ~ part) -%}
    {%- endfor -%}
    get_json_object({{ column }}, '{{ json_path | join("") }}')
{%- endmacro %}

{% macro json_array_length(expr) -%}
    {{ adapter.dispatch('json_array_length', 'carehouse')(expr) }}
{%- endmacro %}

{% macro postgres__json_array_length(expr) -%}
    (case when jsonb_typeof({{ expr }}) = 'array' then jsonb_array_length({{ expr }}) end)
{%- endmacro %}

{#- Spark SQL's json_array_length is null for anything but an array. -#}
{% macro default__json_array_length(expr) -%}
    json_array_length({{ expr }})
{%- endmacro %}

{% macro json_array_rows(expr, element, position) -%}
    {{ adapter.dispatch('json_array_rows', 'carehouse')(expr, element, position) }}
{%- endmacro %}

{% macro postgres__json_array_rows(expr, element, position) -%}
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof({{ expr }}) = 'array' then {{ expr }} else cast('[]' as jsonb) end
    ) with ordinality as {{ element }}_rows ({{ element }}, {{ position }})
{%- endmacro %}

{#- Spark SQL would be `lateral view posexplode(from_json(expr, 'array<string>'))`, but json_text
    has no Spark implementation yet either: fail when executed, not at parse time. -#}
{% macro default__json_array_rows(expr, element, position) -%}
    {%- if execute -%}
        {{ exceptions.raise_compiler_error("json_array_rows has no implementation for adapter '" ~ adapter.type() ~ "'; add a " ~ adapter.type() ~ "__json_array_rows macro.") }}
    {%- endif -%}
{%- endmacro %}
