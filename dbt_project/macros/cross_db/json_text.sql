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
    {#- Spark SQL: the array parsed as maps (nested objects stay JSON text), filtered;
        try_element_at: no element / no key gives null, also in ANSI mode -#}
    try_element_at(try_element_at(filter(
        from_json(get_json_object({{ column }}, '$.{{ array_path | join(".") }}'), 'array<map<string,string>>'),
        element -> element['{{ match_key }}'] = '{{ match_value }}'
    ), 1), '{{ return_key }}')
{%- endmacro %}


{#- ===========================================================================
    fhir_preferred_coding(column, concept_path, systems, field): `field`
    ('system', 'code' or 'display') of the coding a CodeableConcept's
    coding[] should be read by: the first coding of systems[0] anywhere in
    the list, else of systems[1], ..., else coding[0]. When coding[0] is
    already the best available system no array search runs (the common
    case of a single coding).
=========================================================================== -#}
{% macro fhir_preferred_coding(column, concept_path, systems, field) -%}
    {%- set path = concept_path + ['coding'] -%}
    {%- set first_system = carehouse.json_text(column, path + [0, 'system']) -%}
    {%- set first_field = carehouse.json_text(column, path + [0, field]) -%}
    case
        {%- for system in systems %}
        when {{ first_system }} = '{{ system }}' then {{ first_field }}
        when {{ carehouse.json_array_lookup_text(column, path, 'system', system, 'code') }} is not null
            then {% if field == 'system' %}'{{ system }}'{% else %}{{ carehouse.json_array_lookup_text(column, path, 'system', system, field) }}{% endif %}
        {%- endfor %}
        else {{ first_field }}
    end
{%- endmacro %}

