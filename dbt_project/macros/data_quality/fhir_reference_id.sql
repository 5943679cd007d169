{#- ===========================================================================
    fhir_reference_id(reference, resource_type): the id inside a relative FHIR
    reference ('Patient/17' -> '17'); null when missing or not of that type /
    shape (FHIR ids: [A-Za-z0-9-.]{1,64}).
    fhir_id_pattern(): the anchored regex a FHIR logical id must match.
=========================================================================== -#}
{% macro fhir_id_pattern() -%}
    ^[A-Za-z0-9.-]{1,64}$
{%- endmacro %}

{% macro fhir_reference_id(reference, resource_type) -%}
    case
        when {{ carehouse.regex_full_match(reference, '^' ~ resource_type ~ '/[A-Za-z0-9.-]{1,64}$') }}
            then substr({{ reference }}, {{ resource_type | length + 2 }})
    end
{%- endmacro %}
