{#- ===========================================================================
    fhir_coding_field(column, coding_path, preferred_system, field): one field
    ('code', 'system' or 'display') of the coding a staging model reads from a
    FHIR CodeableConcept: the first coding of `preferred_system` when the
    concept has one, otherwise coding[0]. The three fields always come from
    the same coding, so a code never travels with another coding's system.
      coding_path       path of the coding array, e.g. ['code', 'coding']
      preferred_system  e.g. 'http://loinc.org'
    Real exports list several codings (a local code first, then LOINC /
    RxNorm / CVX); the simulators send one.
=========================================================================== -#}
{% macro fhir_coding_field(column, coding_path, preferred_system, field) -%}
    {%- if field not in ('code', 'system', 'display') -%}
        {{ exceptions.raise_compiler_error("fhir_coding_field: field must be code, system or display, got " ~ field) }}
    {%- endif -%}
    {%- set preferred_code = carehouse.json_array_lookup_text(column, coding_path, 'system', preferred_system, 'code') -%}
    case
        when {{ preferred_code }} is not null
            then {{ carehouse.json_array_lookup_text(column, coding_path, 'system', preferred_system, field) }}
        else {{ carehouse.json_text(column, coding_path + [0, field]) }}
    end
{%- endmacro %}
