{#- ===========================================================================
    FHIR references as real exports send them, parsed without joins (staging).

    fhir_reference_id(reference, resource_type): the logical id of a LITERAL
    reference to that type, relative ('Patient/17'), absolute
    ('https://host/fhir/Patient/17') and/or versioned ('Patient/17/_history/3')
    -> '17'; null when missing, of another type, or not literal. FHIR ids:
    [A-Za-z0-9-.]{1,64}.

    fhir_reference_identifier(reference, resource_type, part): of a
    CONDITIONAL reference ('Practitioner?identifier=<system>|<value>', the
    token search FHIR uses), part 'system' or 'value'. The token's three
    forms: 'system|value' (that system), '|value' (identifiers without a
    system: system = ''), 'value' (any system: system = null). %7C / %3A /
    %2F escapes are decoded. Null when the reference is not conditional.
    The LIKE guard keeps the regexes off the (common) literal references.

    fhir_reference(reference, resource_type, id_column): the three staging
    columns of one reference: <id_column>, and <stem>_identifier_system /
    <stem>_identifier_value (stem = id_column without '_id'); int models
    resolve the conditional ones (macro resolved_reference).

    fhir_id_pattern(): the anchored regex a FHIR logical id must match.
=========================================================================== -#}
{% macro fhir_id_pattern() -%}
    ^[A-Za-z0-9.-]{1,64}$
{%- endmacro %}

{% macro fhir_reference_id(reference, resource_type) -%}
    {{ carehouse.regex_extract(reference,
        '^(?:https?://[^?#]*/)?' ~ resource_type ~ '/([A-Za-z0-9.-]{1,64})(?:/_history/[A-Za-z0-9.-]{1,64})?$') }}
{%- endmacro %}

{% macro fhir_reference_identifier(reference, resource_type, part) -%}
    {%- set token = "replace(replace(replace(replace(replace(replace(" ~ reference
        ~ ", '%7C', '|'), '%7c', '|'), '%3A', ':'), '%3a', ':'), '%2F', '/'), '%2f', '/')" -%}
    {%- set head = '^' ~ resource_type ~ '[?](?:[^#]*&)?identifier=' -%}
    {%- if part == 'system' -%}
        {#- '' (an explicit "no system") must survive: regex_extract maps '' to null -#}
        {%- set system = carehouse.regex_extract(token, head ~ '([^|&]*[|])') -%}
        case when {{ reference }} like '{{ resource_type }}?%'
            then substr({{ system }}, 1, {{ dbt.length(system) }} - 1) end
    {%- elif part == 'value' -%}
        case when {{ reference }} like '{{ resource_type }}?%'
            then {{ carehouse.regex_extract(token, head ~ '(?:[^|&]*[|])?([^|&]+)(?:&.*)?$') }} end
    {%- else -%}
        {{ exceptions.raise_compiler_error("fhir_reference_identifier: part must be 'system' or 'value', got " ~ part) }}
    {%- endif -%}
{%- endmacro %}

{% macro fhir_reference(reference, resource_type, id_column) -%}
    {%- set stem = id_column[:-3] if id_column.endswith('_id') else id_column -%}
    {{ carehouse.fhir_reference_id(reference, resource_type) }} as {{ id_column }},
        {{ carehouse.fhir_reference_identifier(reference, resource_type, 'system') }} as {{ stem }}_identifier_system,
        {{ carehouse.fhir_reference_identifier(reference, resource_type, 'value') }} as {{ stem }}_identifier_value
{%- endmacro %}
