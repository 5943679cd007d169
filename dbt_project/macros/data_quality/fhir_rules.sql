{#- ===========================================================================
    Reusable data-quality rule sets for FHIR staging models. Each macro
    returns a list of rule dicts for dq_flags() / quarantine_reason(), so a
    model composes its rules as
        fhir_identity_rules('Encounter', 'raw_encounter_id')
        + fhir_reference_rules('patient', 'patient_reference', 'patient_id', required=true)
        + [ ...model-specific rules... ]
=========================================================================== -#}

{#- Wrong/absent resourceType, missing id, id not a valid FHIR id: always quarantined. -#}
{% macro fhir_identity_rules(resource_type, raw_id_column) -%}
    {{ return([
        {'name': 'wrong_resource_type', 'quarantine': true,
         'when': "coalesce(resource_type, '') <> '" ~ resource_type ~ "'"},
        {'name': 'missing_id', 'quarantine': true,
         'when': raw_id_column ~ " is null"},
        {'name': 'invalid_id', 'quarantine': true,
         'when': raw_id_column ~ " is not null and not " ~ carehouse.regex_full_match(raw_id_column, carehouse.fhir_id_pattern())},
    ]) }}
{%- endmacro %}

{#- A reference ('Patient/17', or conditional 'Patient?identifier=s|v' when
    conditional=true: staging columns from macro fhir_reference). Required:
    missing or malformed quarantines the row. Optional: a missing one is
    simply null; a malformed one is flagged. A conditional one is flagged
    (CONDITIONAL_<NAME>_REFERENCE) and resolved later by the int model, which
    flags it UNRESOLVED_<NAME>_REFERENCE when no single resource matches. -#}
{% macro fhir_reference_rules(name, reference_column, id_column, required=false, conditional=false) -%}
    {%- set rules = [] -%}
    {%- set stem = id_column[:-3] if id_column.endswith('_id') else id_column -%}
    {%- set not_conditional = (" and " ~ stem ~ "_identifier_value is null") if conditional else "" -%}
    {%- if required -%}
        {%- do rules.append({'name': 'missing_' ~ name ~ '_reference', 'quarantine': true,
                             'when': reference_column ~ " is null"}) -%}
    {%- endif -%}
    {%- do rules.append({'name': 'invalid_' ~ name ~ '_reference', 'quarantine': required,
                         'when': reference_column ~ " is not null and " ~ id_column ~ " is null" ~ not_conditional}) -%}
    {%- if conditional -%}
        {%- do rules.append({'name': 'conditional_' ~ name ~ '_reference', 'quarantine': false,
                             'when': stem ~ "_identifier_value is not null"}) -%}
    {%- endif -%}
    {{ return(rules) }}
{%- endmacro %}

{#- A timestamp/date field: missing (only when required) or present but unparseable. -#}
{% macro fhir_datetime_rules(name, raw_column, typed_column, required=false, quarantine=false) -%}
    {%- set rules = [] -%}
    {%- if required -%}
        {%- do rules.append({'name': 'missing_' ~ name, 'quarantine': quarantine,
                             'when': raw_column ~ " is null"}) -%}
    {%- endif -%}
    {%- do rules.append({'name': 'unparseable_' ~ name, 'quarantine': quarantine,
                         'when': raw_column ~ " is not null and " ~ typed_column ~ " is null"}) -%}
    {{ return(rules) }}
{%- endmacro %}
